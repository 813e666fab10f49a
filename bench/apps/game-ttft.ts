/**
 * The game character's time to the first token of a line (issue 23), at concurrency 1 and 16:
 * `nimbus serve` (the built dist/) on stories260K with 16 slots, the game-character template as
 * the app when the server has apps (`POST /v1/apps`; otherwise its persona and tools sent with
 * each request to the plain model, and the figure line says `via=model`), then rounds of
 * streamed `/v1/responses` calls forcing `say`, timed from the request to the first
 * `response.function_call_arguments.delta` (the line's first token) and to the end. Each line is
 * a new player's first (the app keeps a memory per player, which would grow the prompt). The llama
 * engine emits a tool call whole, once generated, so on it the first token of a `say` line is
 * the whole line: the figure is the time to the line. A line with no call (the model's output
 * ran out, or the request failed) is counted as `missing`, not timed. stories260K
 * has 512 tokens of context, which the whole persona and the three tools overflow: on a model
 * that small only the persona's first sentence is sent (`persona=short` in the figure line).
 *
 *   npm run build && npx tsx bench/apps/game-ttft.ts [--rounds 5]
 *
 * On a shared 2-core machine the figures are noise: rerun on a quiet one before quoting them.
 */
import { parseArgs } from 'node:util';
import { loadTemplate } from '../../src/cli/app-templates.js';
import { benchModelPath, median, percentile, report, startServerProcess, waitReady } from '../support.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const template = loadTemplate('game-character');
const server = await startServerProcess(['--model', benchModelPath(), '--threads', '1', '--ctx', '4096', '--slots', '16', '--log-level', 'warn']);

/** One streamed line: milliseconds to the first argument delta and to the end. */
async function line(body: Record<string, unknown>, player: string): Promise<{ firstMs: number; totalMs: number }> {
  const started = performance.now();
  const response = await fetch(`${server.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...body,
      input: 'A traveller walks into the shop.',
      user: player,
      stream: true,
      tool_choice: { type: 'function', name: 'say' },
    }),
  });
  if (!response.ok || !response.body) return { firstMs: NaN, totalMs: performance.now() - started };
  let firstMs = NaN;
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    if (Number.isNaN(firstMs) && decoder.decode(chunk, { stream: true }).includes('response.function_call_arguments.delta'))
      firstMs = performance.now() - started;
  }
  return { firstMs, totalMs: performance.now() - started };
}

try {
  await waitReady(server.url);
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
  const served = models.data.find((entry) => !entry.id.startsWith('app:'))!;
  const model = served.id;
  const small = (served as { nimbus?: { context_length?: number } }).nimbus?.context_length ?? 0;
  const persona = small > 0 && small <= 512 ? 'short' : 'full';
  const instructions = persona === 'short' ? `${(template.config.instructions as string).split('. ')[0]}.` : template.config.instructions;
  const created = await fetch(`${server.url}/v1/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...template.config, instructions, name: 'game-character', model }),
  });
  // Without apps on this server, the same persona and tools go with each request.
  const via = created.ok ? 'app' : 'model';
  const body = created.ok
    ? { model: 'app:game-character' }
    : { model, instructions, tools: template.config.tools, max_output_tokens: template.config.max_output_tokens };
  await line(body, 'warm-up');
  for (const concurrency of [1, 16]) {
    const first: number[] = [];
    const total: number[] = [];
    let missing = 0;
    for (let round = 0; round < rounds; round += 1) {
      // A new player each line: each is a first meeting, so the player's memory (which grows the prompt) is empty.
      const results = await Promise.all(Array.from({ length: concurrency }, (_, player) => line(body, `player-${concurrency}-${round}-${player}`)));
      for (const result of results) {
        if (Number.isNaN(result.firstMs)) missing += 1;
        else {
          first.push(result.firstMs);
          total.push(result.totalMs);
        }
      }
    }
    report(`game_ttft_c${concurrency}`, {
      via,
      persona,
      lines: first.length,
      missing,
      ttft_p50_ms: median(first),
      ttft_p90_ms: percentile(first, 0.9),
      line_p50_ms: median(total),
    });
  }
} finally {
  await server.stop();
}
