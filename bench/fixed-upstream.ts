/**
 * A fixed-reply OpenAI-compatible upstream for bench/gateway.ts: a bare node:http server that
 * answers every chat request at once with the same ~300-byte JSON body, or the same event
 * stream when the request asks for one. Prints `listening on URL` when ready.
 *
 *   node --import tsx bench/fixed-upstream.ts
 */
import { createServer } from 'node:http';

const created = 1_700_000_000;
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-fixed', object: 'chat.completion.chunk', created, model: 'fixed-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;

/** The whole answer: about 300 bytes, as a small chat completion is. */
export const wholeBody = JSON.stringify({
  id: 'chatcmpl-fixed',
  object: 'chat.completion',
  created,
  model: 'fixed-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 },
});

/** The same answer streamed: role, four content chunks, finish, usage, [DONE]. */
export const streamBody = [
  chunk({ role: 'assistant', content: '' }, null),
  ...['Hello!', ' How can I', ' help you', ' today?'].map((content) => chunk({ content }, null)),
  chunk({}, 'stop'),
  `data: ${JSON.stringify({ id: 'chatcmpl-fixed', object: 'chat.completion.chunk', created, model: 'fixed-model', choices: [], usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 } })}\n\n`,
  'data: [DONE]\n\n',
].join('');

const wholeHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(wholeBody) };
const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

const server = createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (data: string) => (body += data));
  request.on('end', () => {
    if (body.includes('"stream":true')) {
      response.writeHead(200, streamHeaders);
      response.end(streamBody);
    } else {
      response.writeHead(200, wholeHeaders);
      response.end(wholeBody);
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`listening on http://127.0.0.1:${address.port}`);
});
