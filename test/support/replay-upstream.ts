/**
 * Replays answers recorded from the llama engine (test/fixtures, written by
 * test/fixtures/record.ts) as an OpenAI-compatible upstream: a request's `user` field names the
 * fixture, and the recorded bytes are sent back as they were, in one write.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './shared-model.js';

const messages = [{ role: 'user', content: 'Tell me a story about a cat.' }];
const lampTool = {
  type: 'function',
  function: {
    name: 'set_lamp',
    description: 'Switch a lamp',
    parameters: { type: 'object', properties: { room: { type: 'string', enum: ['kitchen', 'hall'] }, on: { type: 'boolean' } }, required: ['room', 'on'] },
  },
};
const streamed = { stream: true, stream_options: { include_usage: true } };

/** What is recorded: each request as a client sends it, with its fixture name in `user`. */
export const fixtureCases: Array<{ name: string; path: string; request: Record<string, unknown> }> = [
  { name: 'chat', path: '/v1/chat/completions', request: { model: 'stories', user: 'chat', messages, temperature: 0, max_tokens: 24 } },
  {
    name: 'chat-stream',
    path: '/v1/chat/completions',
    request: { model: 'stories', user: 'chat-stream', messages, temperature: 0, max_tokens: 24, ...streamed },
  },
  {
    name: 'chat-tool',
    path: '/v1/chat/completions',
    request: {
      model: 'stories',
      user: 'chat-tool',
      messages: [{ role: 'user', content: 'Turn on the kitchen lamp.' }],
      tools: [lampTool],
      tool_choice: 'required',
      temperature: 0,
      max_tokens: 100,
    },
  },
  {
    name: 'chat-tool-stream',
    path: '/v1/chat/completions',
    request: {
      model: 'stories',
      user: 'chat-tool-stream',
      messages: [{ role: 'user', content: 'Turn on the kitchen lamp.' }],
      tools: [lampTool],
      tool_choice: 'required',
      temperature: 0,
      max_tokens: 100,
      ...streamed,
    },
  },
  {
    name: 'completion-stream',
    path: '/v1/completions',
    request: { model: 'stories', user: 'completion-stream', prompt: 'Once upon a time', temperature: 0, max_tokens: 24, ...streamed },
  },
];

/** One line of test/fixtures/fixtures.json. */
export interface FixtureIndexEntry {
  name: string;
  path: string;
  request: Record<string, unknown>;
  /** The recorded body, next to fixtures.json. */
  file: string;
  contentType: string;
}

/** A recorded fixture with its body. */
export interface Fixture extends FixtureIndexEntry {
  body: string;
}

const folder = join(repoRoot, 'test', 'fixtures');

/** Every recorded fixture, by name. */
export function loadFixtures(): Map<string, Fixture> {
  const index = JSON.parse(readFileSync(join(folder, 'fixtures.json'), 'utf8')) as FixtureIndexEntry[];
  return new Map(index.map((entry) => [entry.name, { ...entry, body: readFileSync(join(folder, entry.file), 'utf8') }]));
}

/** The `data:` payloads of a recorded event stream, in order. */
export function ssePayloads(text: string): string[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

/** Starts a replaying upstream; resolves with its URL, the requests it got and a close function. */
export async function startReplayUpstream(
  fixtures: Map<string, Fixture>,
): Promise<{ url: string; requests: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const requests: Array<Record<string, unknown>> = [];
  const server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (data: string) => (text += data));
    request.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      requests.push(body);
      const fixture = fixtures.get(String(body.user));
      if (!fixture || fixture.path !== request.url) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `no fixture for user '${String(body.user)}' at ${request.url}` } }));
        return;
      }
      response.writeHead(200, { 'content-type': fixture.contentType });
      response.end(fixture.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
