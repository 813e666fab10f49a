/**
 * Batches: the tenant's batch jobs (`/v1/batches`, OpenAI's Batch API) with each one's status and
 * a bar of lines done, read again every `batchPollMs` while any is still moving; a form that
 * uploads a JSONL file (purpose `batch`) and starts a batch on it; cancel; and the output and
 * error files to download. The CLI's `nimbus batches` does the same from a terminal.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, download, list } from '../api/client.js';
import { uploadFile } from '../api/upload.js';
import { batchProgress, type BatchView } from '../batches/batch-progress.js';
import { useLoad } from '../live/console-context.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';

/** How often the list is read while a batch moves. */
const batchPollMs = 1000;
const endpoints = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses'];

/** The form: a JSONL file of requests and the endpoint its lines call. */
function CreateBatch({ onCreated }: { onCreated: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [endpoint, setEndpoint] = useState(endpoints[0]!);
  const [busy, setBusy] = useState(false);
  const { error, run } = useAction();
  const submit = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) return Promise.resolve();
    setBusy(true);
    return run(async () => {
      try {
        const uploaded = await uploadFile(file, 'batch');
        await api('POST', '/v1/batches', { input_file_id: uploaded.id, endpoint, completion_window: '24h' });
        if (input.current) input.current.value = '';
        onCreated();
      } finally {
        setBusy(false);
      }
    });
  };
  return (
    <form className="row" aria-label="Start a batch" onSubmit={(event) => void submit(event)}>
      <label>
        Requests (JSONL, one per line)
        <input ref={input} type="file" name="batch-file" accept=".jsonl,application/jsonl,text/plain" required />
      </label>
      <label>
        Endpoint
        <select aria-label="Endpoint" value={endpoint} onChange={(event) => setEndpoint(event.target.value)}>
          {endpoints.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Uploading…' : 'Upload and start'}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** Batches: start one, watch them run, cancel, download results. */
export function BatchesPage() {
  const [version, setVersion] = useState(0);
  const batches = useLoad(() => list<BatchView>('/v1/batches?limit=100'), version);
  const { error, run } = useAction();
  const moving = (batches.data ?? []).some((batch) => batchProgress(batch).moving);
  useEffect(() => {
    if (!moving) return;
    const timer = setTimeout(() => setVersion((value) => value + 1), batchPollMs);
    return () => clearTimeout(timer);
  }, [moving, batches.data]);
  const reload = (): void => setVersion((value) => value + 1);
  const cancel = (batch: BatchView): Promise<void> =>
    run(async () => {
      await api('POST', `/v1/batches/${encodeURIComponent(batch.id)}/cancel`);
      reload();
    });
  const fetchFile = (fileId: string, name: string): Promise<void> => run(() => download(`/v1/files/${encodeURIComponent(fileId)}/content`, name));
  return (
    <>
      <h1>Batches</h1>
      <section className="panel" aria-label="New batch">
        <h2>New batch</h2>
        <p className="muted">
          Each line is <code>{'{"custom_id": ..., "method": "POST", "url": ENDPOINT, "body": {...}}'}</code>. Lines run on capacity interactive requests leave
          free, at the batch price, within 24 hours.
        </p>
        <CreateBatch onCreated={reload} />
      </section>
      <section className="panel" aria-label="Batches">
        <h2>Batches</h2>
        <ErrorNote error={batches.error ?? error} />
        {batches.data?.length === 0 && <p className="empty">No batches yet. Upload a JSONL file above to start one.</p>}
        <table data-testid="batches">
          <thead>
            <tr>
              <th>Batch</th>
              <th>Status</th>
              <th>Progress</th>
              <th className="num">Tokens</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(batches.data ?? []).map((batch) => {
              const progress = batchProgress(batch);
              return (
                <tr key={batch.id}>
                  <td>
                    <code>{batch.id}</code>
                    <div className="muted">{batch.endpoint}</div>
                  </td>
                  <td>
                    <span className={`badge ${batch.status}`}>{batch.status}</span>
                  </td>
                  <td>
                    <div
                      className="meter"
                      role="progressbar"
                      aria-label={`Progress of ${batch.id}`}
                      aria-valuemin={0}
                      aria-valuemax={100}
                      aria-valuenow={progress.percent}
                      aria-valuetext={progress.text}
                    >
                      <span style={{ width: `${progress.percent}%` }} />
                    </div>
                    <span className="muted" data-testid="batch-progress">
                      {progress.text}
                    </span>
                  </td>
                  <td className="num">{batch.usage?.total_tokens ?? 0}</td>
                  <td>
                    <Time at={batch.created_at * 1000} />
                  </td>
                  <td className="row">
                    {progress.cancellable && (
                      <button type="button" className="quiet" aria-label={`Cancel ${batch.id}`} onClick={() => void cancel(batch)}>
                        Cancel
                      </button>
                    )}
                    {batch.output_file_id && (
                      <button type="button" className="quiet" onClick={() => void fetchFile(batch.output_file_id!, `${batch.id}-output.jsonl`)}>
                        Output
                      </button>
                    )}
                    {batch.error_file_id && (
                      <button type="button" className="quiet" onClick={() => void fetchFile(batch.error_file_id!, `${batch.id}-errors.jsonl`)}>
                        Errors
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </>
  );
}
