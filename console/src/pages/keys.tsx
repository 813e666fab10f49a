import { useEffect, useState, type FormEvent } from 'react';
import { api, holdSignOut, list } from '../api/client.js';
import type { ApiKey, Tenant } from '../api/types.js';
import { describeLimits, draftOf, limitChanges, limitFields, limitsOf, type LimitDraft } from '../keys/limit-draft.js';
import { useConsole, useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';

/** A comma-separated list, or `*` for all. */
function allowanceOf(text: string): '*' | string[] {
  const trimmed = text.trim();
  return trimmed === '*'
    ? '*'
    : trimmed
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
}

function LimitInputs({ draft, onChange }: { draft: LimitDraft; onChange: (draft: LimitDraft) => void }) {
  return (
    <>
      {limitFields.map(([field, title]) => (
        <label key={field}>
          {title}
          <input
            type="number"
            min={0}
            step="any"
            size={8}
            value={draft[field] ?? ''}
            onChange={(event) => onChange({ ...draft, [field]: event.target.value })}
          />
        </label>
      ))}
    </>
  );
}

/**
 * The new key, shown this once with a copy button. When it ended local mode (the first key), the
 * tab can no longer work without a key: it offers to sign in with this one, in one click.
 */
function KeyOnce({ created, endedLocalMode, onClose }: { created: { key: string; id: string; admin: boolean }; endedLocalMode: boolean; onClose: () => void }) {
  const { signIn } = useConsole();
  // Whatever else on the page meets a 401 meanwhile, the key stays on screen until it is copied.
  useEffect(() => holdSignOut(), []);
  const [copied, setCopied] = useState(false);
  const copy = (): void => {
    navigator.clipboard.writeText(created.key).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <section className="panel" role="dialog" aria-label="New API key" data-testid="key-once">
      <h2>Key {created.id} created</h2>
      <p>Copy it now: Nimbus stores only its hash, so it is shown this once.</p>
      <p className="key-once" data-testid="new-key">
        {created.key}
      </p>
      {endedLocalMode && (
        <p className="notice" role="status">
          This was the first key, so local mode has ended: every request, this console's included, now needs a key.
          {created.admin
            ? ' Sign this tab in with it to go on.'
            : ' It is not an admin key: to keep administering, create an admin key with the CLI (nimbus keys create --admin) and sign in with that.'}
        </p>
      )}
      <div className="row">
        <button type="button" onClick={copy} autoFocus>
          {copied ? 'Copied' : 'Copy key'}
        </button>
        {endedLocalMode ? (
          <button type="button" onClick={() => signIn(created.key)}>
            Sign in with this key
          </button>
        ) : (
          <button type="button" className="quiet" onClick={onClose}>
            I have stored it
          </button>
        )}
      </div>
    </section>
  );
}

function Tenants() {
  const { me } = useConsole();
  const tenants = useLoad(() => list<Tenant>('/v1/tenants'));
  const [id, setId] = useState('');
  const [draft, setDraft] = useState<LimitDraft>({});
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    try {
      const current = tenants.data?.find((tenant) => tenant.id === editing)?.limits ?? {};
      if (editing) await api('PATCH', `/v1/tenants/${encodeURIComponent(editing)}`, { limits: limitChanges(current, draft) });
      else await api('POST', '/v1/tenants', { id: id.trim(), limits: limitsOf(draft) });
      setId('');
      setDraft({});
      setEditing(null);
      setError(null);
      tenants.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <section className="panel" aria-label="Tenants">
      <h2>Tenants</h2>
      <ErrorNote error={tenants.error} />
      <table>
        <thead>
          <tr>
            <th>Tenant</th>
            <th>Limits</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tenants.data ?? []).map((tenant) => (
            <tr key={tenant.id}>
              <td>{tenant.id}</td>
              <td>{describeLimits(tenant.limits)}</td>
              <td>
                <button
                  type="button"
                  className="quiet"
                  onClick={() => {
                    setEditing(tenant.id);
                    setDraft(draftOf(tenant.limits));
                  }}
                >
                  Edit limits
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row" onSubmit={(event) => void save(event)}>
        {editing ? (
          <strong>Limits of {editing}</strong>
        ) : (
          me.operator && (
            <label>
              New tenant id
              <input value={id} onChange={(event) => setId(event.target.value)} placeholder="acme" size={12} />
            </label>
          )
        )}
        {(editing || me.operator) && (
          <>
            <LimitInputs draft={draft} onChange={setDraft} />
            <button type="submit" disabled={!editing && !id.trim()}>
              {editing ? 'Save limits' : 'Create tenant'}
            </button>
            {editing && (
              <button type="button" className="quiet" onClick={() => setEditing(null)}>
                Cancel
              </button>
            )}
          </>
        )}
      </form>
      <ErrorNote error={error} />
    </section>
  );
}

/** A key's limits, edited in place: saved with PATCH /v1/keys/{id}, in force from the key's next request. */
function KeyLimitsEditor({ apiKey, onSaved, onCancel }: { apiKey: ApiKey; onSaved: () => void; onCancel: () => void }) {
  const [draft, setDraft] = useState<LimitDraft>(() => draftOf(apiKey.limits));
  const { error, run } = useAction();
  const save = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    return run(async () => {
      await api('PATCH', `/v1/keys/${encodeURIComponent(apiKey.id)}`, { limits: limitChanges(apiKey.limits, draft) });
      onSaved();
    });
  };
  return (
    <form className="row" aria-label={`Limits of ${apiKey.name}`} onSubmit={(event) => void save(event)}>
      <LimitInputs draft={draft} onChange={setDraft} />
      <button type="submit">Save limits</button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <span className="muted">An emptied field removes that limit.</span>
      <ErrorNote error={error} />
    </form>
  );
}

/** Keys and tenants: create (shown once), find by prefix, edit limits, revoke. */
export function KeysPage() {
  const { me } = useConsole();
  const keys = useLoad(() => list<ApiKey>('/v1/keys'));
  const [name, setName] = useState('');
  const [tenant, setTenant] = useState('');
  const [admin, setAdmin] = useState(false);
  const [models, setModels] = useState('*');
  const [devices, setDevices] = useState('');
  const [draft, setDraft] = useState<LimitDraft>({});
  const [created, setCreated] = useState<{ key: string; id: string; admin: boolean } | null>(null);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    try {
      const answer = await api<ApiKey & { key: string }>('POST', '/v1/keys', {
        name: name.trim(),
        ...(tenant.trim() ? { tenant: tenant.trim() } : {}),
        scopes: { admin, models: allowanceOf(models), devices: allowanceOf(devices) },
        limits: limitsOf(draft),
      });
      setCreated({ key: answer.key, id: answer.id, admin: answer.scopes.admin });
      // A fresh form: the next key starts from the least it can do, not the last key's admin scope.
      setName('');
      setTenant('');
      setAdmin(false);
      setModels('*');
      setDevices('');
      setDraft({});
      setError(null);
      // The first key ends local mode: listing keys now needs one, which the dialog offers.
      if (!me.local) keys.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const revoke = async (key: ApiKey): Promise<void> => {
    if (!confirm(`Revoke ${key.name} (${key.prefix}…)? Requests with it are refused from now on.`)) return;
    try {
      await api('DELETE', `/v1/keys/${encodeURIComponent(key.id)}`);
      keys.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const shown = (keys.data ?? []).filter((key) => !filter || key.prefix.startsWith(filter) || key.name.includes(filter));
  return (
    <>
      <h1>Keys and tenants</h1>
      {created && <KeyOnce created={created} endedLocalMode={me.local} onClose={() => setCreated(null)} />}
      <section className="panel" aria-label="Create a key">
        <h2>Create a key</h2>
        <form className="row" onSubmit={(event) => void create(event)}>
          <label>
            Name
            <input name="key-name" value={name} onChange={(event) => setName(event.target.value)} required size={14} />
          </label>
          {me.operator && (
            <label>
              Tenant (default: yours)
              <input value={tenant} onChange={(event) => setTenant(event.target.value)} size={10} />
            </label>
          )}
          <label>
            Models (* or a, b)
            <input value={models} onChange={(event) => setModels(event.target.value)} size={10} />
          </label>
          <label>
            Devices (* or ids)
            <input value={devices} onChange={(event) => setDevices(event.target.value)} size={10} />
          </label>
          <label className="inline">
            <input type="checkbox" checked={admin} onChange={(event) => setAdmin(event.target.checked)} />
            Admin
          </label>
          <LimitInputs draft={draft} onChange={setDraft} />
          <button type="submit" disabled={!name.trim()}>
            Create key
          </button>
        </form>
        <ErrorNote error={error} />
      </section>
      <section className="panel" aria-label="Keys">
        <h2>Keys</h2>
        <label>
          Find by prefix or name
          <input value={filter} onChange={(event) => setFilter(event.target.value)} placeholder="nmb_…" />
        </label>
        <ErrorNote error={keys.error} />
        <table data-testid="keys">
          <thead>
            <tr>
              <th>Prefix</th>
              <th>Name</th>
              <th>Tenant</th>
              <th>Scopes</th>
              <th>Limits</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((key) => [
              <tr key={key.id}>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{key.name}</td>
                <td>{key.tenant}</td>
                <td>
                  {key.scopes.admin ? 'admin, ' : ''}
                  models {key.scopes.models === '*' ? 'all' : key.scopes.models.join(', ') || 'none'}; devices{' '}
                  {key.scopes.devices === '*' ? 'all' : key.scopes.devices.join(', ') || 'none'}
                </td>
                <td>{describeLimits(key.limits)}</td>
                <td>
                  <span className={`badge ${key.status}`}>{key.status}</span>
                </td>
                <td>
                  {key.status === 'active' && (
                    <div className="row">
                      <button type="button" className="quiet" onClick={() => setEditing(editing === key.id ? null : key.id)} aria-expanded={editing === key.id}>
                        Edit limits
                      </button>
                      <button type="button" className="quiet" onClick={() => void revoke(key)}>
                        Revoke
                      </button>
                    </div>
                  )}
                </td>
              </tr>,
              editing === key.id && (
                <tr key={`${key.id}:limits`}>
                  <td colSpan={7}>
                    <KeyLimitsEditor
                      apiKey={key}
                      onCancel={() => setEditing(null)}
                      onSaved={() => {
                        setEditing(null);
                        keys.reload();
                      }}
                    />
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      </section>
      <Tenants />
    </>
  );
}
