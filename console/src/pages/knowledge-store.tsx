/**
 * One vector store on the Knowledge page: its files with their status (read again every
 * `ingestPollMs` while any is in progress, so the bar and the badges move as files are indexed),
 * an upload that sends files to `/v1/files` and adds them to the store, and the search box.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, list } from '../api/client.js';
import type { UploadedFile, VectorStore, VectorStoreFile } from '../api/types.js';
import { uploadFile } from '../api/upload.js';
import { ingestPollMs, ingestProgress } from '../knowledge/ingest-progress.js';
import { useLoad } from '../live/console-context.js';
import { formatBytes } from '../models/pull-progress.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { StoreSearch } from './knowledge-search.js';

const storePath = (store: VectorStore): string => `/v1/vector_stores/${encodeURIComponent(store.id)}`;

/** The store and its files, with each file's name (a vector store file carries only its id). */
function useStoreFiles(store: VectorStore, version: number) {
  const names = useRef(new Map<string, string>());
  return useLoad(async () => {
    const [record, files] = await Promise.all([api<VectorStore>('GET', storePath(store)), list<VectorStoreFile>(`${storePath(store)}/files?limit=100`)]);
    const unnamed = files.filter((file) => !names.current.has(file.id));
    const found = await Promise.all(unnamed.map((file) => api<UploadedFile>('GET', `/v1/files/${encodeURIComponent(file.id)}`).catch(() => null)));
    unnamed.forEach((file, index) => names.current.set(file.id, found[index]?.filename ?? file.id));
    return { record, files: files.map((file) => ({ ...file, filename: names.current.get(file.id) ?? file.id })) };
  }, `${store.id}:${version}`);
}

type NamedFile = VectorStoreFile & { filename: string };

/** The upload form: each chosen file is uploaded, then added to the store (indexing starts at once). */
function Upload({ store, onAdded }: { store: VectorStore; onAdded: (file: NamedFile) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [sending, setSending] = useState<string | null>(null);
  const { error, run } = useAction();
  const send = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    return run(async () => {
      try {
        for (const file of Array.from(input.current?.files ?? [])) {
          setSending(file.name);
          const uploaded = await uploadFile(file);
          const added = await api<VectorStoreFile>('POST', `${storePath(store)}/files`, { file_id: uploaded.id });
          onAdded({ ...added, filename: file.name });
        }
        if (input.current) input.current.value = '';
      } finally {
        setSending(null);
      }
    });
  };
  return (
    <form className="row" aria-label={`Upload into ${store.name || store.id}`} onSubmit={(event) => void send(event)}>
      <label>
        Files (text, Markdown, HTML, PDF)
        <input ref={input} type="file" name="files" multiple required />
      </label>
      <button type="submit" disabled={sending !== null}>
        {sending ? `Uploading ${sending}…` : 'Upload and index'}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** A store's files, upload and search. */
export function StorePanel({ store, onChanged }: { store: VectorStore; onChanged: () => void }) {
  const [version, setVersion] = useState(0);
  const loaded = useStoreFiles(store, version);
  // Files just added, shown as the server answered (in progress) until a read of the store has them.
  const [added, setAdded] = useState<NamedFile[]>([]);
  useEffect(() => {
    const read = new Set((loaded.data?.files ?? []).map((file) => file.id));
    setAdded((pending) => (pending.some((file) => read.has(file.id)) ? pending.filter((file) => !read.has(file.id)) : pending));
  }, [loaded.data]);
  const files = [...(loaded.data?.files ?? []), ...added.filter((file) => !(loaded.data?.files ?? []).some((known) => known.id === file.id))];
  const { error, run } = useAction();
  const current = loaded.data?.record ?? store;
  const progress = ingestProgress(current.file_counts);
  const busy = progress.busy || files.some((file) => file.status === 'in_progress');
  const wasBusy = useRef(false);
  // Poll while anything is indexed; once it settles, the stores' list is read again for its counts.
  useEffect(() => {
    if (!busy) {
      if (wasBusy.current) onChanged();
      wasBusy.current = false;
      return;
    }
    wasBusy.current = true;
    const timer = setTimeout(() => setVersion((value) => value + 1), ingestPollMs);
    return () => clearTimeout(timer);
  }, [busy, loaded.data, onChanged]);
  const reload = (): void => setVersion((value) => value + 1);
  const remove = (file: VectorStoreFile & { filename: string }): Promise<void> =>
    run(async () => {
      await api('DELETE', `${storePath(store)}/files/${encodeURIComponent(file.id)}`);
      reload();
      onChanged();
    });
  return (
    <section className="panel" aria-label={`Store ${store.name || store.id}`}>
      <h2>{store.name || store.id}</h2>
      <div
        className="meter"
        role="progressbar"
        aria-label={`Indexing of ${store.name || store.id}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress.percent}
        aria-valuetext={progress.text}
      >
        <span style={{ width: `${progress.percent}%` }} />
      </div>
      <p className="muted" data-testid="ingest-text">
        {progress.text}
      </p>
      <Upload
        store={store}
        onAdded={(file) => {
          setAdded((pending) => [...pending, file]);
          reload();
          onChanged();
        }}
      />
      <ErrorNote error={loaded.error ?? error} />
      <table data-testid="store-files">
        <thead>
          <tr>
            <th>File</th>
            <th>Status</th>
            <th className="num">Indexed size</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {files.map((file) => (
            <tr key={file.id}>
              <td>
                {file.filename} <code className="muted">{file.id}</code>
              </td>
              <td>
                <span className={`badge ${file.status}`}>{file.status.replace('_', ' ')}</span>
                {file.last_error && <span className="error"> {file.last_error.message}</span>}
              </td>
              <td className="num">{file.status === 'completed' ? formatBytes(file.usage_bytes) : '—'}</td>
              <td>
                <button type="button" className="quiet" aria-label={`Remove ${file.filename}`} onClick={() => void remove(file)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {loaded.data && files.length === 0 && <p className="empty">No files in this store yet. Upload some above.</p>}
      <StoreSearch store={store} />
    </section>
  );
}
