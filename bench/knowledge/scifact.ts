/**
 * Knowledge bases through the public API on BEIR SciFact: a `nimbus serve` process (built dist/)
 * gets one file per abstract (title and text) with its id as an attribute, in file batches; then
 * every development claim is searched. Prints ingest time, nDCG@10 and Recall@50 per document,
 * and search latency p50/p99 as the client sees it (HTTP keep-alive, one query at a time).
 * `--scale N` adds N-1 shuffled copies of each abstract (never relevant) for a corpus N times
 * larger. The data is read from ../shared (non-commercial licence: never copied into the repo).
 *
 *   npm run build && npx tsx bench/knowledge/scifact.ts [--scale 10] [--data DIR] [--queries N] [--cpu-prof DIR]
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, report, repoRoot, startServerProcess } from '../support.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: join(repoRoot, '..', 'shared', 'data', 'retrieval', 'scifact') },
    scale: { type: 'string', default: '1' },
    queries: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'cpu-prof': { type: 'string' },
  },
});
const scale = Number(values.scale);
const concurrency = Number(values.concurrency);

interface Document {
  _id: string;
  title: string;
  text: string;
}
const lines = (path: string): string[] => readFileSync(join(values.data, path), 'utf8').trim().split('\n');
const documents = lines('corpus.jsonl').map((line) => JSON.parse(line) as Document);
const judged = new Map<string, Set<string>>();
for (const line of lines('qrels/dev.tsv').slice(1)) {
  const [query, document] = line.split('\t') as [string, string];
  (judged.get(query) ?? judged.set(query, new Set()).get(query)!).add(document);
}
const queries = lines('queries.dev.jsonl')
  .map((line) => JSON.parse(line) as { _id: string; text: string })
  .filter((query) => judged.has(query._id))
  .slice(0, values.queries === undefined ? undefined : Number(values.queries));

/** A deterministic shuffle of an abstract's words: a document of the same length and words that matches no claim's meaning. */
function shuffled(text: string, seed: number): string {
  const words = text.split(' ');
  let state = seed;
  for (let index = words.length - 1; index > 0; index -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const other = state % (index + 1);
    [words[index], words[other]] = [words[other]!, words[index]!];
  }
  return words.join(' ');
}

const corpus: Array<{ id: string; text: string }> = [];
for (let copy = 0; copy < scale; copy += 1) {
  for (const [index, document] of documents.entries()) {
    const text = `${document.title}\n${document.text}`;
    corpus.push({ id: copy === 0 ? document._id : `${document._id}~${copy}`, text: copy === 0 ? text : shuffled(text, index * 31 + copy) });
  }
}

// --cpu-prof DIR: the server writes a V8 CPU profile there when it stops.
const server = await startServerProcess(
  ['--log-level', 'warn'],
  {},
  values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']],
);
/** The server's CPU seconds so far (user + system, from /proc): a figure the machine's load does not inflate. */
function serverCpuSeconds(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

/** One JSON call over the keep-alive agent. */
function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.url}${path}`,
      { method, agent, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((incoming.statusCode ?? 500) >= 400) reject(new Error(`${method} ${path}: ${incoming.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** One upload as a client without a form library sends it: the multipart body built by hand, over the keep-alive agent. */
async function upload(name: string, text: string): Promise<string> {
  const boundary = '----nimbus-bench-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nassistants\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: text/plain\r\n\r\n`),
    Buffer.from(text),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.url}/v1/files`,
      { method: 'POST', agent, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const answer = Buffer.concat(chunks).toString();
          if ((incoming.statusCode ?? 500) >= 400) reject(new Error(`upload: ${incoming.statusCode} ${answer}`));
          else resolve((JSON.parse(answer) as { id: string }).id);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

try {
  const cpuStart = serverCpuSeconds();
  const ingestStart = performance.now();
  const store = await call<{ id: string }>('POST', '/v1/vector_stores', { name: 'scifact' });
  const fileIds: string[] = new Array<string>(corpus.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < corpus.length) {
        const index = next++;
        fileIds[index] = await upload(`${corpus[index]!.id}.txt`, corpus[index]!.text);
      }
    }),
  );
  const uploaded = performance.now();
  const cpuUploaded = serverCpuSeconds();
  const batches: string[] = [];
  for (let start = 0; start < corpus.length; start += 10_000) {
    const files = corpus.slice(start, start + 10_000).map((document, offset) => ({ file_id: fileIds[start + offset]!, attributes: { doc_id: document.id } }));
    batches.push((await call<{ id: string }>('POST', `/v1/vector_stores/${store.id}/file_batches`, { files })).id);
  }
  for (const batch of batches) {
    for (;;) {
      const state = await call<{ status: string; file_counts: { failed: number } }>('GET', `/v1/vector_stores/${store.id}/file_batches/${batch}`);
      if (state.status !== 'in_progress') {
        if (state.file_counts.failed > 0) throw new Error(`${state.file_counts.failed} files failed to index`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const ingestSeconds = (performance.now() - ingestStart) / 1000;
  const cpuIngested = serverCpuSeconds();

  type Hit = { attributes: { doc_id: string } };
  const search = (text: string) => call<{ data: Hit[] }>('POST', `/v1/vector_stores/${store.id}/search`, { query: text, max_num_results: 50 });
  for (const query of queries.slice(0, 20)) await search(query.text);
  const cpuWarm = serverCpuSeconds();
  let ndcg = 0;
  let recall = 0;
  const latencies: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    const { data } = await search(query.text);
    latencies.push(performance.now() - started);
    const ranked = [...new Set(data.map((hit) => hit.attributes.doc_id))];
    const relevant = judged.get(query._id)!;
    let dcg = 0;
    ranked.slice(0, 10).forEach((id, rank) => (dcg += relevant.has(id) ? 1 / Math.log2(rank + 2) : 0));
    let ideal = 0;
    for (let rank = 0; rank < Math.min(relevant.size, 10); rank += 1) ideal += 1 / Math.log2(rank + 2);
    ndcg += dcg / ideal;
    recall += ranked.slice(0, 50).filter((id) => relevant.has(id)).length / relevant.size;
  }
  const cpuSearched = serverCpuSeconds();
  report(`knowledge scifact x${scale}`, {
    documents: corpus.length,
    queries: queries.length,
    'nDCG@10': ndcg / queries.length,
    'Recall@50': recall / queries.length,
    ingest_s: ingestSeconds,
    upload_s: (uploaded - ingestStart) / 1000,
    search_p50_ms: percentile(latencies, 0.5),
    search_p99_ms: percentile(latencies, 0.99),
    server_cpu_upload_s: cpuUploaded - cpuStart,
    server_cpu_index_s: cpuIngested - cpuUploaded,
    server_cpu_search_ms: ((cpuSearched - cpuWarm) * 1000) / queries.length,
    load_average: loadavg()[0]!,
  });
} finally {
  agent.destroy();
  await server.stop();
}
