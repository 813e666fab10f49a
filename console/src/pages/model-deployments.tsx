/**
 * The pool's deployments on the Models page: deploy a model (`POST /v1/deployments`), scale or
 * remove each one, and read why its replicas were placed where they are (`GET
 * /v1/deployments/{name}/explain`), as `nimbus deploy`, `deployments scale|rm|explain` do.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, list } from '../api/client.js';
import type { PoolDeployment } from '../api/types.js';
import { useLoad } from '../live/console-context.js';
import { deployBody, emptyDeployDraft, type DeployDraft } from '../models/deploy-request.js';
import { autoscaleSummary } from '../models/autoscale-summary.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';

function DeployForm({ models, picked, onDeployed }: { models: string[]; picked: { ref: string } | null; onDeployed: () => void }) {
  const [draft, setDraft] = useState<DeployDraft>(emptyDeployDraft);
  const { error, run } = useAction();
  useEffect(() => {
    if (picked) setDraft((current) => ({ ...current, model: picked.ref }));
  }, [picked]);
  const set = (change: Partial<DeployDraft>): void => setDraft((current) => ({ ...current, ...change }));
  const deploy = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    return run(async () => {
      await api('POST', '/v1/deployments', deployBody(draft));
      setDraft(emptyDeployDraft);
      onDeployed();
    });
  };
  return (
    <form className="row" aria-label="Deploy a model" onSubmit={(event) => void deploy(event)}>
      <label>
        Model
        <input name="deploy-model" list="cached-models" value={draft.model} onChange={(event) => set({ model: event.target.value })} size={40} required />
        <datalist id="cached-models">
          {models.map((model) => (
            <option key={model} value={model} />
          ))}
        </datalist>
      </label>
      <label>
        Name (default: the file name)
        <input name="deploy-name" value={draft.name} onChange={(event) => set({ name: event.target.value })} size={16} />
      </label>
      <label>
        Replicas
        <input name="deploy-replicas" type="number" min={1} max={256} value={draft.replicas} onChange={(event) => set({ replicas: event.target.value })} />
      </label>
      <label>
        Device
        <select name="deploy-device" value={draft.device} onChange={(event) => set({ device: event.target.value as DeployDraft['device'] })}>
          <option value="auto">auto (GPU first, then CPU)</option>
          <option value="gpu">GPU only</option>
          <option value="cpu">CPU only</option>
        </select>
      </label>
      <label>
        Context
        <input name="deploy-ctx" type="number" min={64} value={draft.contextSize} onChange={(event) => set({ contextSize: event.target.value })} />
      </label>
      <label>
        Slots
        <input name="deploy-slots" type="number" min={1} max={256} value={draft.slots} onChange={(event) => set({ slots: event.target.value })} />
      </label>
      <label title="Sequences beyond the slots that only interactive requests take while batch lines hold the slots; each costs one slot's KV cache.">
        Spare slots
        <input
          name="deploy-spare-slots"
          type="number"
          min={0}
          max={256}
          value={draft.spareSlots}
          onChange={(event) => set({ spareSlots: event.target.value })}
        />
      </label>
      <button type="submit" disabled={!draft.model.trim()}>
        Deploy
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** One deployment: its replicas, scale, remove, and the placement explanation on demand. */
function DeploymentRow({ deployment, onChanged }: { deployment: PoolDeployment; onChanged: () => void }) {
  const [replicas, setReplicas] = useState(String(deployment.replicas));
  useEffect(() => setReplicas(String(deployment.replicas)), [deployment.replicas]);
  const [lines, setLines] = useState<string[] | null>(null);
  const { error, run: act } = useAction();
  const path = `/v1/deployments/${encodeURIComponent(deployment.name)}`;
  const explain = (): Promise<void> => act(async () => setLines((await api<{ lines: string[] }>('GET', `${path}/explain`)).lines));
  const scale = (): Promise<void> =>
    act(async () => {
      await api('PATCH', path, { replicas: Number(replicas) });
      onChanged();
      if (lines) await explain();
    });
  const remove = (): Promise<void> =>
    act(async () => {
      if (!confirm(`Remove the deployment ${deployment.name}? Its replicas stop and requests for it are refused.`)) return;
      await api('DELETE', path);
      onChanged();
    });
  const missing = deployment.replicas - deployment.placed.length;
  const scaling = autoscaleSummary(deployment);
  return (
    <article className="card" aria-label={`Deployment ${deployment.name}`} data-testid="deployment">
      <strong>{deployment.name}</strong> <code>{deployment.source}</code>
      <div className="muted">
        {`${deployment.placed.length} of ${deployment.replicas} replicas placed · device ${deployment.device} · ctx ${deployment.contextSize} · ${deployment.slots} slots${deployment.spareSlots ? ` + ${deployment.spareSlots} spare` : ''} · routing ${deployment.routing}`}
      </div>
      {scaling && (
        <div className="muted" data-testid="deployment-scaling">
          {scaling}
        </div>
      )}
      <div>
        {deployment.placed.map((replica) => (
          <span key={replica.id} className={`badge ${replica.state}`} title={replica.error ?? undefined}>
            {replica.worker} {replica.state}
          </span>
        ))}
        {missing > 0 && (
          <span className="muted">
            {' '}
            {missing} not placed{deployment.refusal ? `: ${deployment.refusal}` : ''}
          </span>
        )}
      </div>
      <div className="row">
        <label>
          Replicas
          <input
            type="number"
            min={0}
            max={256}
            value={replicas}
            onChange={(event) => setReplicas(event.target.value)}
            aria-label={`Replicas of ${deployment.name}`}
          />
        </label>
        <button type="button" onClick={() => void scale()} disabled={Number(replicas) === deployment.replicas || replicas === ''}>
          Scale
        </button>
        <button type="button" className="quiet" onClick={() => void (lines ? setLines(null) : explain())} aria-expanded={lines !== null}>
          {lines ? 'Hide placement' : 'Explain placement'}
        </button>
        <button type="button" className="quiet" onClick={() => void remove()}>
          Remove
        </button>
      </div>
      {lines && (
        <pre className="json" data-testid="explain" aria-label={`Placement of ${deployment.name}`}>
          {lines.join('\n')}
        </pre>
      )}
      <ErrorNote error={error} />
    </article>
  );
}

/** Deploy form and the deployments, read again after every change made here. */
export function Deployments({ models, picked, onChanged }: { models: string[]; picked: { ref: string } | null; onChanged: () => void }) {
  const [version, setVersion] = useState(0);
  const deployments = useLoad(() => list<PoolDeployment>('/v1/deployments'), version);
  const changed = (): void => {
    setVersion((value) => value + 1);
    onChanged();
  };
  return (
    <section className="panel" aria-label="Deployments">
      <h2>Deployments</h2>
      <DeployForm models={models} picked={picked} onDeployed={changed} />
      <ErrorNote error={deployments.error} />
      {deployments.data && deployments.data.length === 0 && <p className="empty">Nothing is deployed on the pool yet.</p>}
      <div className="stack">
        {(deployments.data ?? []).map((deployment) => (
          <DeploymentRow key={deployment.name} deployment={deployment} onChanged={changed} />
        ))}
      </div>
    </section>
  );
}
