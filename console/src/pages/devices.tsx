import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { list } from '../api/client.js';
import type { Device, Me, Twin } from '../api/types.js';
import type { DeviceCommand } from '../live/command-desk.js';
import { LineChart } from '../charts/line-chart.js';
import { DeviceControls } from '../devices/device-controls.js';
import { formatValue, numericSeries } from '../devices/controls.js';
import { useConsole, useLive, useLoad } from '../live/console-context.js';
import { ErrorNote, Json, Time } from '../ui/error-note.js';

/** Whether this key may command a device (an admin without its device scope only oversees it). */
const mayAct = (me: Me, id: string): boolean => me.scopes.devices === '*' || me.scopes.devices.includes(id);

function State({ values, model }: { values: Record<string, unknown>; model: Device['model'] }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <p className="empty">Nothing reported yet.</p>;
  return (
    <dl className="state">
      {entries.map(([name, value]) => {
        const unit = model.properties?.[name]?.unit;
        return (
          <div key={name} style={{ display: 'contents' }}>
            <dt>{name}</dt>
            <dd>
              <span data-testid={`state-${name}`}>{formatValue(value)}</span>
              {unit && typeof value === 'number' && <span className="muted"> {unit}</span>}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

/** A few reported values in words for the list, the rest counted: the column never overflows. */
function summary(reported: Record<string, unknown>, shown = 3): string {
  const entries = Object.entries(reported);
  const words = entries.slice(0, shown).map(([name, value]) => `${name} ${formatValue(value)}`);
  return entries.length > shown ? `${words.join(' · ')} · +${entries.length - shown}` : words.join(' · ');
}

/** The raw command form: any property or action, its value as JSON (for what the typed controls cannot say). */
function CommandForm({ device }: { device: Device }) {
  const { desk } = useConsole();
  const choices = [
    ...device.actions.map((action) => ({ id: `invoke:${action.name}`, label: `run ${action.name}${action.risk === 'high' ? ' (needs approval)' : ''}` })),
    ...device.properties.filter((property) => !property.read_only).map((property) => ({ id: `set:${property.name}`, label: `set ${property.name}` })),
  ];
  const [choice, setChoice] = useState(choices[0]?.id ?? '');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setChoice(choices[0]?.id ?? ''), [device.id]); // eslint-disable-line react-hooks/exhaustive-deps -- a new device resets the form
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const [kind, name] = choice.split(':') as ['set' | 'invoke', string];
    let parsed: unknown = undefined;
    if (value.trim()) {
      try {
        parsed = JSON.parse(value);
      } catch {
        setError(`The value is not JSON: write a number, true/false, "text" or an object such as {"seconds": 5}.`);
        return;
      }
    } else if (kind === 'set') {
      setError('Give the value to set.');
      return;
    }
    setError(null);
    const command: DeviceCommand = { device: device.id, kind, name, value: parsed };
    void desk.submit(command);
  };
  if (choices.length === 0) return <p className="empty">This device takes no commands.</p>;
  return (
    <form className="row" onSubmit={submit} aria-label={`Command ${device.id}`}>
      <label>
        Command
        <select name="command" aria-label="Command" value={choice} onChange={(event) => setChoice(event.target.value)}>
          {choices.map((option) => (
            <option key={option.id} value={option.id}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Value or input (JSON)
        <input name="value" value={value} onChange={(event) => setValue(event.target.value)} placeholder='{"seconds": 5}' size={18} />
      </label>
      <button type="submit">Send</button>
      <ErrorNote error={error} />
    </form>
  );
}

function Commands() {
  const { desk } = useConsole();
  const tracked = useSyncExternalStore(desk.subscribe, desk.get);
  if (tracked.length === 0) return null;
  return (
    <section className="panel" aria-label="Commands sent" data-testid="commands">
      <h2>Commands sent from this console</h2>
      <ul>
        {tracked.map((item, index) => (
          <li key={index}>
            <span className={`badge ${item.state}`} data-testid="command-state">
              {item.state.replaceAll('_', ' ')}
            </span>{' '}
            {item.command.device} {item.command.kind === 'set' ? `set ${item.command.name}` : item.command.name}
            {item.approval && ` · approval ${item.approval}`}
            {item.result && ` · ${item.result.message}`}
            {item.state === 'waiting_for_approval' && ' · an admin approves it on the Approvals page; it runs as soon as they do.'}
            <ErrorNote error={item.error} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function History({ device, version, model }: { device: string; version: number; model: Device['model'] }) {
  const history = useLoad(
    () => list<{ version: number; at: number; kind: string; data: unknown }>(`/v1/devices/${encodeURIComponent(device)}/history?limit=100`),
    `${device}/${version}`,
  );
  const numeric = Object.entries(model.properties ?? {}).filter(([, schema]) => schema.type === 'number' || schema.type === 'integer');
  return (
    <>
      <h2>History</h2>
      <ErrorNote error={history.error} />
      {numeric.length > 0 && history.data && (
        <div className="charts" data-testid="property-charts">
          {numeric.slice(0, 3).map(([name, schema]) => (
            <LineChart
              key={name}
              title={name}
              values={numericSeries(history.data!, name)}
              unit={schema.unit ?? ''}
              digits={schema.type === 'integer' ? 0 : 1}
            />
          ))}
        </div>
      )}
      <table>
        <tbody>
          {(history.data ?? []).slice(0, 15).map((entry, index) => (
            <tr key={index}>
              <td>
                <Time at={entry.at} />
              </td>
              <td>v{entry.version}</td>
              <td>{entry.kind}</td>
              <td>
                <code>{JSON.stringify(entry.data)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Devices: live twins, history, commands (waiting for approval where needed). */
export function DevicesPage() {
  const { live, me } = useConsole();
  const { twins } = useLive();
  const devices = useLoad(() => list<Device>('/v1/devices'));
  const [selected, setSelected] = useState<string | null>(null);
  useEffect(() => {
    if (devices.data) live.seedTwins(devices.data.map((device) => device.twin));
    if (!selected && devices.data?.[0]) setSelected(devices.data[0].id);
  }, [devices.data, live, selected]);
  const device = devices.data?.find((candidate) => candidate.id === selected);
  const twinOf = (candidate: Device): Twin => twins.get(candidate.id) ?? candidate.twin;
  return (
    <>
      <h1>Devices</h1>
      <ErrorNote error={devices.error} />
      {devices.data?.length === 0 && (
        <p className="empty">
          No device is registered in this key's scope yet. Devices appear here as soon as one is registered (PUT /v1/devices/ID) or a simulator runs (nimbus
          sim).
        </p>
      )}
      <div className="split">
        <section className="panel" aria-label="Device list">
          <table>
            <tbody>
              {(devices.data ?? []).map((candidate) => {
                const twin = twinOf(candidate);
                return (
                  <tr key={candidate.id} aria-selected={candidate.id === selected}>
                    <td>
                      <button type="button" className="quiet" onClick={() => setSelected(candidate.id)} aria-pressed={candidate.id === selected}>
                        {candidate.id}
                      </button>
                      <div className="muted">{candidate.title}</div>
                    </td>
                    <td>
                      <span className={`badge ${twin.connection}`}>{twin.connection}</span>
                    </td>
                    <td className="summary" title={JSON.stringify(twin.reported)}>
                      {summary(twin.reported)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
        {device && (
          <section className="panel" aria-label={`Device ${device.id}`} data-testid="device-detail">
            <h2>
              {device.title} <span className="muted">({device.id})</span> <span className={`badge ${device.risk}`}>risk {device.risk}</span>{' '}
              <span className={`badge ${twinOf(device).connection}`}>{twinOf(device).connection}</span>
            </h2>
            <p className="muted">
              Version {twinOf(device).version} · reported <Time at={twinOf(device).reported_at} />
            </p>
            <State values={twinOf(device).reported} model={device.model} />
            {Object.keys(twinOf(device).delta).length > 0 && (
              <>
                <strong>Desired, not yet reported:</strong>
                <Json value={twinOf(device).delta} />
              </>
            )}
            {mayAct(me, device.id) ? (
              <>
                <DeviceControls key={device.id} device={device} reported={twinOf(device).reported} />
                <details>
                  <summary>Send a raw command (JSON)</summary>
                  <CommandForm device={device} />
                </details>
              </>
            ) : (
              <p className="muted" data-testid="no-device-scope">
                This admin key oversees the device but may not command it: acting on a device needs a key with its device scope.
              </p>
            )}
            <History device={device.id} version={twinOf(device).version} model={device.model} />
          </section>
        )}
      </div>
      <Commands />
    </>
  );
}
