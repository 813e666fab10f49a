/**
 * The form that creates an app: from one of the server's templates (`GET /v1/app_templates`: its
 * knowledge uploaded and indexed first, its variants made too) or blank (a model and
 * instructions). A template names the model it was written for; where this server does not serve
 * it, the form picks a served one, as `nimbus apps create --template --model` does.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, list } from '../api/client.js';
import type { AppTemplateView, AppView, ModelInfo } from '../api/types.js';
import { useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { createFromTemplate } from './create-from-template.js';

const blank = '';

export function CreateApp({ onCreated }: { onCreated: (name: string) => void }) {
  const templates = useLoad(() => list<AppTemplateView>('/v1/app_templates'));
  // Apps are not models an app can name.
  const models = useLoad(async () => (await list<ModelInfo>('/v1/models')).filter((model) => !model.id.startsWith('app:')));
  const [from, setFrom] = useState(blank);
  const [name, setName] = useState('');
  const [model, setModel] = useState('');
  const [instructions, setInstructions] = useState('');
  const [progress, setProgress] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { error, run } = useAction();
  const template = templates.data?.find((candidate) => candidate.name === from);

  // A template fills in its name and, where served, its model.
  useEffect(() => {
    const served = (models.data ?? []).map((option) => option.id);
    const wanted = template?.config.model;
    const first = typeof wanted === 'string' ? wanted : wanted?.[0];
    setModel(first !== undefined && served.includes(first) ? first : (served[0] ?? ''));
    setName(template ? String(template.config.name ?? template.name) : '');
  }, [template, models.data]);

  const submit = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    return run(async () => {
      try {
        if (template) {
          const made: AppView[] = await createFromTemplate({ template: template.name, name, model }, setProgress);
          onCreated(made[0]!.name);
        } else {
          const made = await api<AppView>('POST', '/v1/apps', { name, model, ...(instructions.trim() ? { instructions } : {}) });
          setProgress(`Created ${made.name}.`);
          onCreated(made.name);
        }
      } finally {
        setBusy(false);
      }
    });
  };

  return (
    <form className="panel" aria-label="Create an app" onSubmit={(event) => void submit(event)}>
      <h2>Create an app</h2>
      <div className="row">
        <label>
          Start from
          <select aria-label="Start from" value={from} onChange={(event) => setFrom(event.target.value)}>
            <option value={blank}>a blank app</option>
            {(templates.data ?? []).map((option) => (
              <option key={option.name} value={option.name}>
                template: {option.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input name="app-name" value={name} required pattern="[a-z0-9][a-z0-9_-]{0,62}" onChange={(event) => setName(event.target.value)} />
        </label>
        <label>
          Model
          <select aria-label="App model" value={model} onChange={(event) => setModel(event.target.value)}>
            {(models.data ?? []).map((option) => (
              <option key={option.id} value={option.id}>
                {option.id}
              </option>
            ))}
          </select>
        </label>
      </div>
      {template ? (
        <p className="muted" data-testid="template-summary">
          {template.description ?? template.name}.{' '}
          {template.knowledge.length > 0 ? `${template.knowledge.length} knowledge files go into a new vector store ${name}-knowledge. ` : ''}
          {template.variants.length > 0 ? `Also creates ${template.variants.map((variant) => `${name}-${variant.suffix}`).join(', ')}. ` : ''}
          {typeof template.config.model === 'string' && template.config.model !== model ? `Written for ${template.config.model}; runs on ${model}.` : ''}
        </p>
      ) : (
        <label>
          Instructions
          <textarea name="app-instructions" rows={3} value={instructions} onChange={(event) => setInstructions(event.target.value)} />
        </label>
      )}
      <div className="row">
        <button type="submit" disabled={busy || !name || !model}>
          {busy ? 'Creating…' : 'Create app'}
        </button>
        {progress && (
          <span className="muted" role="status" data-testid="create-progress">
            {progress}
          </span>
        )}
      </div>
      <ErrorNote error={templates.error ?? models.error ?? error} />
    </form>
  );
}
