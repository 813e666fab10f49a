import { useState } from 'react';
import { api, list } from '../api/client.js';
import type { Approval } from '../api/types.js';
import { useConsole, useLive, useLoad } from '../live/console-context.js';
import { ErrorNote, Json, Time } from '../ui/error-note.js';

/** Pending high-risk commands: exactly what would run, where, for which key and model. */
export function ApprovalsPage() {
  const { approvalsVersion } = useLive();
  const { me } = useConsole();
  const pending = useLoad(() => list<Approval>('/v1/approvals?status=requested'), approvalsVersion);
  const [error, setError] = useState<string | null>(null);
  const decide = async (approval: Approval, grant: boolean): Promise<void> => {
    try {
      // `via: console`: a person decided here (local mode takes decisions only from the console and the CLI).
      await api('POST', `/v1/approvals/${encodeURIComponent(approval.id)}/${grant ? 'grant' : 'deny'}`, { via: 'console' });
      setError(null);
      pending.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <>
      <h1>Approvals</h1>
      <p className="muted">A granted approval lets exactly this command run once, within its time limit. New requests appear here as they arrive.</p>
      <ErrorNote error={pending.error ?? error} />
      {pending.data?.length === 0 && <p className="empty">Nothing waits for a decision.</p>}
      <div className="grid" data-testid="approvals">
        {(pending.data ?? []).map((approval) => (
          <section className="panel" key={approval.id} aria-label={`Approval ${approval.id}`}>
            <h2>
              {approval.kind === 'set' ? `Set ${approval.name ?? ''}` : `Run ${approval.name ?? ''}`} on {approval.device}{' '}
              <span className={`badge ${approval.risk}`}>risk {approval.risk}</span>
            </h2>
            <dl className="state">
              <dt>Input</dt>
              <dd>
                <Json value={approval.input} />
              </dd>
              <dt>Why</dt>
              <dd>{approval.reason}</dd>
              <dt>Key</dt>
              <dd>{approval.requested_by}</dd>
              <dt>Model</dt>
              <dd>{approval.model ?? 'none (a person, through the API)'}</dd>
              <dt>Conversation</dt>
              <dd>{approval.conversation ?? '—'}</dd>
              <dt>Asked</dt>
              <dd>
                <Time at={approval.requested_at} />
              </dd>
              <dt>Grants</dt>
              <dd>
                {(approval.grants ?? []).length} of {approval.grants_needed ?? 1}
                {(approval.grants ?? []).length > 0 ? ` (${(approval.grants ?? []).join(', ')})` : ''}
              </dd>
              <dt>Expires</dt>
              <dd>
                <Time at={approval.expires_at} />
              </dd>
            </dl>
            <div className="row">
              {waitsForAnother(approval, me) ? (
                <span className="muted" data-testid="waiting-for-another-admin">
                  {waitingText(approval, me)}
                </span>
              ) : (
                <button type="button" onClick={() => void decide(approval, true)}>
                  Approve
                </button>
              )}
              <button type="button" className="danger" onClick={() => void decide(approval, false)}>
                Deny
              </button>
            </div>
          </section>
        ))}
      </div>
    </>
  );
}

/** Whether this key may not grant: it asked for the command, or it already gave the first of two grants. */
export function waitsForAnother(approval: Approval, me: { key: string | null; local: boolean }): boolean {
  if (me.local || me.key === null) return false;
  return approval.requested_by === me.key || (approval.grants ?? []).includes(`key:${me.key}`);
}

function waitingText(approval: Approval, me: { key: string | null }): string {
  return approval.requested_by === me.key
    ? 'Waiting for another admin: the key that asked cannot approve its own command.'
    : 'Waiting for another admin: a critical command needs a second grant from another key.';
}
