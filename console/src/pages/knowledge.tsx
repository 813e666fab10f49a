/**
 * Knowledge: the tenant's vector stores (create, delete), and for the one opened its files with
 * status and live progress while they are indexed, an upload, and a search box showing scored
 * chunks (knowledge-store.tsx). Everything goes through `/v1/files` and `/v1/vector_stores`,
 * the API the official OpenAI clients use.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { api, list } from '../api/client.js';
import type { VectorStore } from '../api/types.js';
import { ingestProgress } from '../knowledge/ingest-progress.js';
import { useLoad } from '../live/console-context.js';
import { formatBytes } from '../models/pull-progress.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { StorePanel } from './knowledge-store.js';

/** The form that makes a store. */
function CreateStore({ onCreated }: { onCreated: (store: VectorStore) => void }) {
  const [name, setName] = useState('');
  const { error, run } = useAction();
  const create = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    return run(async () => {
      const store = await api<VectorStore>('POST', '/v1/vector_stores', { name: name.trim() });
      setName('');
      onCreated(store);
    });
  };
  return (
    <form className="row" aria-label="Create a vector store" onSubmit={(event) => void create(event)}>
      <label>
        Store name
        <input name="store-name" value={name} onChange={(event) => setName(event.target.value)} placeholder="handbook" size={32} required />
      </label>
      <button type="submit" disabled={!name.trim()}>
        Create store
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** Knowledge: stores, and the opened one's files and search. */
export function KnowledgePage() {
  const [changes, setChanges] = useState(0);
  const [openId, setOpenId] = useState<string | null>(null);
  const stores = useLoad(() => list<VectorStore>('/v1/vector_stores?limit=100'), changes);
  const { error, run } = useAction();
  // Stable, so the store panel's polling effect does not restart on every render of the list.
  const changed = useCallback((): void => setChanges((value) => value + 1), []);
  const remove = (store: VectorStore): Promise<void> =>
    run(async () => {
      if (!confirm(`Delete the vector store ${store.name || store.id}? Its files stay in /v1/files.`)) return;
      await api('DELETE', `/v1/vector_stores/${encodeURIComponent(store.id)}`);
      if (openId === store.id) setOpenId(null);
      changed();
    });
  const opened = stores.data?.find((store) => store.id === openId);
  return (
    <>
      <h1>Knowledge</h1>
      <section className="panel" aria-label="Vector stores">
        <h2>Vector stores</h2>
        <CreateStore
          onCreated={(store) => {
            setOpenId(store.id);
            changed();
          }}
        />
        <ErrorNote error={stores.error ?? error} />
        {stores.data?.length === 0 && <p className="empty">No vector stores yet. Create one, then upload files into it.</p>}
        <table data-testid="vector-stores">
          <thead>
            <tr>
              <th>Store</th>
              <th>Files</th>
              <th className="num">Size</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(stores.data ?? []).map((store) => (
              <tr key={store.id} aria-current={store.id === openId ? 'true' : undefined}>
                <td>
                  <button type="button" className="link" onClick={() => setOpenId(store.id)}>
                    {store.name || store.id}
                  </button>{' '}
                  <code className="muted">{store.id}</code>
                </td>
                <td>
                  <span className={`badge ${store.status}`}>{store.status}</span> {ingestProgress(store.file_counts).text}
                </td>
                <td className="num">{formatBytes(store.usage_bytes)}</td>
                <td>
                  <Time at={store.created_at * 1000} />
                </td>
                <td>
                  <button type="button" className="quiet" aria-label={`Delete ${store.name || store.id}`} onClick={() => void remove(store)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {opened && <StorePanel key={opened.id} store={opened} onChanged={changed} />}
    </>
  );
}
