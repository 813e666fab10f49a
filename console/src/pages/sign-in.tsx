import { useState, type FormEvent } from 'react';
import { ErrorNote } from '../ui/error-note.js';

/** The key form: the key stays in this tab's sessionStorage and goes only to this server. */
export function SignIn({ error, onKey }: { error: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Nimbus</h1>
      <section className="panel">
        <form onSubmit={submit} className="row">
          <label>
            API key
            <input
              name="api-key"
              type="password"
              autoComplete="off"
              placeholder="nmb_…"
              value={key}
              onChange={(event) => setKey(event.target.value)}
              size={48}
              autoFocus
            />
          </label>
          <button type="submit" disabled={!key.trim()}>
            Sign in
          </button>
        </form>
        <p className="muted">
          The key is kept in this tab only (sessionStorage) and sent only to this server. An admin creates keys with <code>nimbus keys create</code>. On this
          machine with no key created yet, the console opens without one (local mode).
        </p>
        <ErrorNote error={error} />
      </section>
    </main>
  );
}
