/**
 * Add a worker: a join token made on the server (`POST /v1/pool/join-tokens`) and the command a
 * new machine runs with it, shown this once. Nimbus keeps only the token's hash, and the page keeps
 * the token in this component's state alone: closing the panel forgets it, so it is never shown again.
 */
import { useEffect, useState } from 'react';
import { api, holdSignOut } from '../api/client.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { joinCommand } from './worker-series.js';

const lifetimes = [
  { seconds: 3_600, title: 'in an hour' },
  { seconds: 86_400, title: 'in a day' },
  { seconds: 0, title: 'never' },
];

function CommandOnce({ command, expiresAt, onClose }: { command: string; expiresAt: number | null; onClose: () => void }) {
  // Whatever else on the page meets a 401 meanwhile, the command stays on screen until it is copied.
  useEffect(() => holdSignOut(), []);
  const [copied, setCopied] = useState(false);
  const copy = (): void => {
    navigator.clipboard.writeText(command).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <section className="panel" role="dialog" aria-label="Join command" data-testid="join-once">
      <h2>Run this on the new machine</h2>
      <p>
        Copy it now: the token in it is shown this once (Nimbus keeps only its hash)
        {expiresAt === null ? ' and does not expire' : ` and expires ${new Date(expiresAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`}. The machine
        appears below once it has joined.
      </p>
      <p className="key-once" data-testid="join-command">
        {command}
      </p>
      <div className="row">
        <button type="button" onClick={copy} autoFocus>
          {copied ? 'Copied' : 'Copy command'}
        </button>
        <button type="button" className="quiet" onClick={onClose}>
          Done
        </button>
      </div>
    </section>
  );
}

/** The "Add a worker" control and, after it, the command shown once. */
export function AddWorker() {
  const [lifetime, setLifetime] = useState(86_400);
  const [created, setCreated] = useState<{ command: string; expiresAt: number | null } | null>(null);
  const { error, run } = useAction();
  const create = (): Promise<void> =>
    run(async () => {
      const answer = await api<{ token: string; expires_at: number | null }>(
        'POST',
        '/v1/pool/join-tokens',
        lifetime > 0 ? { expires_in_seconds: lifetime } : {},
      );
      setCreated({ command: joinCommand(location.origin, answer.token), expiresAt: answer.expires_at });
    });
  if (created) return <CommandOnce command={created.command} expiresAt={created.expiresAt} onClose={() => setCreated(null)} />;
  return (
    <section className="panel row" aria-label="Add a worker">
      <button type="button" onClick={() => void create()}>
        Add a worker
      </button>
      <label>
        Token expires
        <select aria-label="Token expires" value={lifetime} onChange={(event) => setLifetime(Number(event.target.value))}>
          {lifetimes.map((option) => (
            <option key={option.seconds} value={option.seconds}>
              {option.title}
            </option>
          ))}
        </select>
      </label>
      <span className="muted">Makes a join token and shows the command to run on the machine, once.</span>
      <ErrorNote error={error} />
    </section>
  );
}
