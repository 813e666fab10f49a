/**
 * Models (the operator's): the control plane's model cache with what uses each file, pulls from
 * the hub with a live progress bar (`model_pull` events on the feed), and the pool's deployments
 * (model-deployments.tsx).
 */
import { useMemo, useState, type FormEvent } from 'react';
import { api, list } from '../api/client.js';
import type { ModelFile, ModelPull } from '../api/types.js';
import { useLive, useLoad } from '../live/console-context.js';
import { formatBytes, mergePulls, pullProgress } from '../models/pull-progress.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { Deployments } from './model-deployments.js';

/** One pull: its reference, a bar, and what it is doing in words. */
function PullRow({ pull }: { pull: ModelPull }) {
  const progress = pullProgress(pull);
  return (
    <li className="pull" data-testid="pull">
      <div>
        <code>{pull.ref}</code> <span className={`badge ${pull.state}`}>{pull.state}</span>
      </div>
      <div
        className="meter"
        role="progressbar"
        aria-label={`Pull of ${pull.ref}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress.percent ?? undefined}
        aria-valuetext={progress.text}
      >
        <span style={{ width: `${progress.percent ?? 0}%` }} />
      </div>
      <div className={pull.state === 'failed' ? 'error' : 'muted'} data-testid="pull-text">
        {progress.text}
      </div>
    </li>
  );
}

/** The pull form and the recent pulls, live. */
function Pulls({ listed, onPulled }: { listed: readonly ModelPull[]; onPulled: () => void }) {
  const { pulls: live } = useLive();
  const [ref, setRef] = useState('');
  const { error, run } = useAction();
  const shown = useMemo(() => mergePulls(listed, live).slice(0, 8), [listed, live]);
  const pull = (event: FormEvent): Promise<void> => {
    event.preventDefault();
    return run(async () => {
      await api('POST', '/v1/model-files/pull', { ref: ref.trim() });
      setRef('');
      onPulled();
    });
  };
  return (
    <section className="panel" aria-label="Pull a model">
      <h2>Pull a model</h2>
      <form className="row" onSubmit={(event) => void pull(event)}>
        <label>
          Reference
          <input
            name="pull-ref"
            value={ref}
            onChange={(event) => setRef(event.target.value)}
            placeholder="hf:OWNER/REPO/FILE.gguf"
            size={56}
            spellCheck={false}
            required
          />
        </label>
        <button type="submit" disabled={!ref.trim()}>
          Pull
        </button>
      </form>
      <ErrorNote error={error} />
      <p className="muted">
        Downloads into this server&apos;s model cache, checked against the hub&apos;s size and sha256; an interrupted pull resumes where it stopped.
      </p>
      {shown.length > 0 && (
        <ul className="pulls" aria-label="Recent pulls">
          {shown.map((entry) => (
            <PullRow key={entry.id} pull={entry} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** The cached files: size, what uses them, delete. */
function CachedFiles({
  files,
  error,
  onDeploy,
  onChanged,
}: {
  files: ModelFile[] | undefined;
  error: string | null;
  onDeploy: (ref: string) => void;
  onChanged: () => void;
}) {
  const { error: failure, run } = useAction();
  const remove = (file: ModelFile): Promise<void> =>
    run(async () => {
      if (!confirm(`Delete ${file.ref} (${formatBytes(file.size)}) from the model cache?`)) return;
      await api('DELETE', `/v1/model-files/${encodeURIComponent(file.ref)}`);
      onChanged();
    });
  return (
    <section className="panel" aria-label="Cached models">
      <h2>Cached models</h2>
      <ErrorNote error={error} />
      {files && files.length === 0 && <p className="empty">The cache is empty. Pull a model below, or run nimbus pull on this machine.</p>}
      <table data-testid="model-files">
        <thead>
          <tr>
            <th>Model</th>
            <th className="num">Size</th>
            <th>In use by</th>
            <th>Changed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(files ?? []).map((file) => (
            <tr key={`${file.ref}${file.incomplete ? ' (partial)' : ''}`}>
              <td>
                <code>{file.ref}</code>
                {file.incomplete && <span className="badge pending"> partial: pull it again to resume</span>}
                {file.external && <span className="badge"> served from its path, outside the cache</span>}
              </td>
              <td className="num">{formatBytes(file.size)}</td>
              <td>{file.in_use_by.length > 0 ? file.in_use_by.join(', ') : <span className="muted">not in use</span>}</td>
              <td>
                <Time at={file.modified_at * 1000} />
              </td>
              <td>
                <div className="row">
                  {!file.incomplete && !file.external && (
                    <button type="button" className="quiet" onClick={() => onDeploy(file.ref)}>
                      Deploy
                    </button>
                  )}
                  {file.in_use_by.length === 0 && !file.pulling && (
                    <button type="button" className="quiet" onClick={() => void remove(file)}>
                      Delete
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNote error={failure} />
    </section>
  );
}

/** Models: cache, pulls, deployments. */
export function ModelsPage() {
  const { pulls: live } = useLive();
  const [changes, setChanges] = useState(0);
  // A new object per click, so the deploy form takes the model again even when it is the same one.
  const [deployModel, setDeployModel] = useState<{ ref: string } | null>(null);
  // A pull that finishes changes the cache: the list is read again then, not on a timer.
  const finished = [...live.values()].filter((pull) => pull.state === 'done').length;
  const files = useLoad(() => list<ModelFile>('/v1/model-files'), `${finished}:${changes}`);
  const pulls = useLoad(() => list<ModelPull>('/v1/model-files/pulls'), changes);
  const changed = (): void => setChanges((value) => value + 1);
  return (
    <>
      <h1>Models</h1>
      <CachedFiles files={files.data} error={files.error} onDeploy={(ref) => setDeployModel({ ref })} onChanged={changed} />
      <Pulls listed={pulls.data ?? []} onPulled={changed} />
      <ErrorNote error={pulls.error} />
      <Deployments models={(files.data ?? []).filter((file) => !file.incomplete).map((file) => file.ref)} picked={deployModel} onChanged={changed} />
    </>
  );
}
