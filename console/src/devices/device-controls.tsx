/**
 * A device's controls as its thing model declares them: a switch for a boolean property, a slider
 * for a ranged number, a select for an enum, a button per action (with fields for its input).
 * Every control goes through the command desk, so a risky one waits for approval like any other.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { Device } from '../api/types.js';
import { useConsole } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { controlFor, fieldsValue, formatValue, valueOf, type Control, type DataSchema } from './controls.js';

const needsApproval = (risk: string): boolean => risk === 'high' || risk === 'critical';

function Input({ id, control, text, onText, unit }: { id: string; control: Control; text: string; onText: (text: string) => void; unit?: string }) {
  switch (control.kind) {
    case 'toggle':
      return <input id={id} type="checkbox" role="switch" checked={text === 'true'} onChange={(event) => onText(String(event.target.checked))} />;
    case 'slider':
      return (
        <span className="slider">
          <input
            id={id}
            type="range"
            min={control.min}
            max={control.max}
            step={control.step}
            value={text || control.min}
            onChange={(event) => onText(event.target.value)}
          />
          <output htmlFor={id}>{formatValue(Number(text || control.min), unit)}</output>
        </span>
      );
    case 'number':
      return (
        <input
          id={id}
          type="number"
          step={control.integer ? 1 : 'any'}
          min={control.min}
          max={control.max}
          size={8}
          value={text}
          onChange={(event) => onText(event.target.value)}
        />
      );
    case 'select':
      return (
        <select id={id} value={text} onChange={(event) => onText(event.target.value)}>
          <option value="" disabled>
            choose…
          </option>
          {control.options.map((option) => (
            <option key={String(option)} value={String(option)}>
              {String(option)}
            </option>
          ))}
        </select>
      );
    default:
      return <input id={id} size={18} value={text} onChange={(event) => onText(event.target.value)} placeholder={control.kind === 'json' ? 'JSON' : ''} />;
  }
}

function PropertyControl({ device, name, schema, current }: { device: Device; name: string; schema: DataSchema; current: unknown }) {
  const { desk } = useConsole();
  const control = controlFor(schema);
  const initial = current === undefined || current === null ? '' : typeof current === 'object' ? JSON.stringify(current) : String(current);
  const [text, setText] = useState(initial);
  // A switch and a select show the device's state as it reports it; a typed value waits for Set.
  useEffect(() => {
    if (control.kind === 'toggle' || control.kind === 'select') setText(initial);
  }, [initial, control.kind]);
  const [error, setError] = useState<string | null>(null);
  const risk = device.properties.find((property) => property.name === name)?.risk ?? 'low';
  const send = (value: string): void => {
    const parsed = valueOf(control, value);
    if ('error' in parsed) return setError(parsed.error);
    if (parsed.value === undefined) return setError('Give the value to set.');
    setError(null);
    void desk.submit({ device: device.id, kind: 'set', name, value: parsed.value });
  };
  const id = `control-${device.id}-${name}`;
  // A switch acts when flipped; the others when Set is pressed.
  const onText = (value: string): void => {
    setText(value);
    if (control.kind === 'toggle') send(value);
  };
  return (
    <form className="control" noValidate aria-label={`Set ${name}`} onSubmit={(event: FormEvent) => (event.preventDefault(), send(text))}>
      <label htmlFor={id}>
        {name}
        {needsApproval(risk) && <span className={`badge ${risk}`}>needs approval</span>}
      </label>
      <Input id={id} control={control} text={text} onText={onText} {...(schema.unit ? { unit: schema.unit } : {})} />
      {control.kind !== 'toggle' && <button type="submit">Set</button>}
      <ErrorNote error={error} />
    </form>
  );
}

function ActionControl({ device, name, input }: { device: Device; name: string; input: DataSchema | undefined }) {
  const { desk } = useConsole();
  const control = controlFor(input);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const risk = device.actions.find((action) => action.name === name)?.risk ?? 'low';
  const run = (event: FormEvent): void => {
    event.preventDefault();
    const parsed = control.kind === 'fields' ? fieldsValue(control, texts) : valueOf(control, texts[''] ?? '');
    if ('error' in parsed) return setError(parsed.error);
    setError(null);
    void desk.submit({ device: device.id, kind: 'invoke', name, value: parsed.value });
  };
  const field = (key: string, fieldControl: Control, label: string, unit?: string) => {
    const id = `action-${device.id}-${name}-${key}`;
    return (
      <label key={key} htmlFor={id}>
        {label}
        <Input id={id} control={fieldControl} text={texts[key] ?? ''} onText={(text) => setTexts({ ...texts, [key]: text })} {...(unit ? { unit } : {})} />
      </label>
    );
  };
  return (
    <form className="control" noValidate aria-label={`Run ${name}`} onSubmit={run}>
      {control.kind === 'fields' && control.fields.map((entry) => field(entry.name, entry.control, entry.name, entry.unit))}
      {control.kind !== 'fields' && control.kind !== 'none' && field('', control, 'input', input?.unit)}
      <button type="submit" className={needsApproval(risk) ? 'danger' : undefined}>
        {name}
        {needsApproval(risk) ? ' (needs approval)' : ''}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** The writable properties and the actions of a device, as controls its thing model types. */
export function DeviceControls({ device, reported }: { device: Device; reported: Record<string, unknown> }) {
  const properties = Object.entries(device.model.properties ?? {}).filter(([, schema]) => !schema.readOnly);
  const actions = Object.entries(device.model.actions ?? {});
  if (properties.length === 0 && actions.length === 0) return <p className="empty">This device takes no commands.</p>;
  return (
    <div className="controls" data-testid="device-controls">
      {properties.map(([name, schema]) => (
        <PropertyControl key={`${device.id}/${name}`} device={device} name={name} schema={schema} current={reported[name]} />
      ))}
      {actions.map(([name, action]) => (
        <ActionControl key={`${device.id}/${name}`} device={device} name={name} input={action.input} />
      ))}
    </div>
  );
}
