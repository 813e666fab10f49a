/** The Knowledge page's search box: a query against one store, its chunks with score and file name. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { SearchResult, VectorStore } from '../api/types.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';

/** Chunks shown per search (OpenAI's default `max_num_results`). */
const maxResults = 10;

export function StoreSearch({ store }: { store: VectorStore }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<{ query: string; hits: SearchResult[] } | null>(null);
  const { error, run } = useAction();
  const search = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const asked = query.trim();
    return run(async () => {
      const page = await api<{ data: SearchResult[] }>('POST', `/v1/vector_stores/${encodeURIComponent(store.id)}/search`, {
        query: asked,
        max_num_results: maxResults,
      });
      setResults({ query: asked, hits: page.data });
    });
  };
  return (
    <>
      <h3>Search</h3>
      <form className="row" role="search" aria-label={`Search ${store.name || store.id}`} onSubmit={(event) => void search(event)}>
        <label>
          Query
          <input name="query" type="search" value={query} onChange={(event) => setQuery(event.target.value)} size={48} required />
        </label>
        <button type="submit" disabled={!query.trim()}>
          Search
        </button>
      </form>
      <ErrorNote error={error} />
      {results && results.hits.length === 0 && <p className="empty">No chunk matches “{results.query}”.</p>}
      {results && results.hits.length > 0 && (
        <ol className="hits" aria-label="Search results" data-testid="search-results">
          {results.hits.map((hit, index) => (
            <li key={`${hit.file_id}:${index}`} className="card">
              <div>
                <strong>{hit.filename}</strong> <span className="badge">score {hit.score.toFixed(3)}</span>
              </div>
              <p className="chunk">{hit.content.map((part) => part.text).join('\n')}</p>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
