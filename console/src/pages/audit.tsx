import { Fragment, useState } from 'react';
import { list } from '../api/client.js';
import type { AuditEntry } from '../api/types.js';
import { useLive, useLoad } from '../live/console-context.js';
import { ErrorNote, Json, Time } from '../ui/error-note.js';

const events = [
  'proposal',
  'denial',
  'approval_requested',
  'approval_granted',
  'approval_denied',
  'approval_redeemed',
  'execution',
  'outcome',
  'read',
  'emergency_stop',
  'emergency_clear',
  'device_registered',
  'device_removed',
  'refusals_aggregated',
];

/** The state before and after, where the entry carries them, side by side. */
function Detail({ entry }: { entry: AuditEntry }) {
  const { state_before: before, state_after: after, ...rest } = entry.detail as { state_before?: unknown; state_after?: unknown };
  return (
    <div className="grid">
      {before !== undefined && (
        <div>
          <strong>Before</strong>
          <Json value={before} />
        </div>
      )}
      {after !== undefined && (
        <div>
          <strong>After</strong>
          <Json value={after} />
        </div>
      )}
      {Object.keys(rest).length > 0 && (
        <div>
          <strong>Detail</strong>
          <Json value={rest} />
        </div>
      )}
    </div>
  );
}

/** Audit log: filterable, with the state before and after each action. */
export function AuditPage() {
  const { audit } = useLive();
  const [device, setDevice] = useState('');
  const [event, setEvent] = useState('');
  const [conversation, setConversation] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const query = new URLSearchParams({ limit: '200' });
  if (device.trim()) query.set('device', device.trim());
  if (event) query.set('event', event);
  if (conversation.trim()) query.set('conversation', conversation.trim());
  const entries = useLoad(() => list<AuditEntry>(`/v1/audit?${query.toString()}`), `${query.toString()}/${audit.length}`);
  return (
    <>
      <h1>Audit log</h1>
      <section className="panel row" aria-label="Filters">
        <label>
          Device
          <input value={device} onChange={(change) => setDevice(change.target.value)} placeholder="sim-lock-1" />
        </label>
        <label>
          Event
          <select aria-label="Event" value={event} onChange={(change) => setEvent(change.target.value)}>
            <option value="">any</option>
            {events.map((name) => (
              <option key={name} value={name}>
                {name.replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Conversation
          <input value={conversation} onChange={(change) => setConversation(change.target.value)} />
        </label>
      </section>
      <ErrorNote error={entries.error} />
      <section className="panel">
        <table data-testid="audit">
          <thead>
            <tr>
              <th>When</th>
              <th>Event</th>
              <th>Device</th>
              <th>Who</th>
              <th>Model</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(entries.data ?? []).map((entry) => (
              <Fragment key={entry.id}>
                <tr>
                  <td>
                    <Time at={entry.at} />
                  </td>
                  <td>
                    <span className="badge">{entry.event.replaceAll('_', ' ')}</span>
                  </td>
                  <td>{entry.device ?? '—'}</td>
                  <td>
                    {entry.actor}
                    {entry.key && entry.key !== entry.actor ? ` (${entry.key})` : ''}
                  </td>
                  <td>{entry.model ?? '—'}</td>
                  <td>
                    <button type="button" className="quiet" aria-expanded={open === entry.id} onClick={() => setOpen(open === entry.id ? null : entry.id)}>
                      {open === entry.id ? 'Hide' : 'Details'}
                    </button>
                  </td>
                </tr>
                {open === entry.id && (
                  <tr>
                    <td colSpan={6}>
                      <Detail entry={entry} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
        {entries.data?.length === 0 && <p className="empty">No entries match.</p>}
      </section>
    </>
  );
}
