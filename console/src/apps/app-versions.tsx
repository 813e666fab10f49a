/**
 * An app's versions (`GET /v1/apps/NAME/versions`): each with what changed from the one before, a
 * readable diff between any two (config-diff.ts), a button that makes an older or newer one live
 * (`POST /v1/apps/NAME/rollback`), and an editor that publishes the next version from the live
 * config (`POST /v1/apps/NAME/versions`). Versions are immutable: publishing never edits one.
 */
import { useEffect, useState } from 'react';
import { api, list } from '../api/client.js';
import type { AppVersionView, AppView } from '../api/types.js';
import { useLoad } from '../live/console-context.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { canonicalJson, changedFields, configDiff } from './config-diff.js';

const marks = { same: ' ', added: '+', removed: '-' } as const;

/** The diff of two versions, `git diff` style. */
function VersionDiff({ versions }: { versions: AppVersionView[] }) {
  const latest = versions.at(-1)?.version ?? 1;
  const [older, setOlder] = useState(Math.max(1, latest - 1));
  const [newer, setNewer] = useState(latest);
  useEffect(() => {
    setOlder(Math.max(1, latest - 1));
    setNewer(latest);
  }, [latest]);
  const config = (version: number) => versions.find((candidate) => candidate.version === version)?.config ?? {};
  const lines = configDiff(config(older), config(newer));
  const picker = (label: string, value: number, set: (version: number) => void) => (
    <label>
      {label}
      <select aria-label={label} value={value} onChange={(event) => set(Number(event.target.value))}>
        {versions.map((version) => (
          <option key={version.version} value={version.version}>
            version {version.version}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div aria-label="Version diff" role="group">
      <div className="row">
        {picker('Compare version', older, setOlder)}
        {picker('with version', newer, setNewer)}
        <span className="muted">
          {lines.every((line) => line.kind === 'same') ? 'The same config.' : `Changed: ${changedFields(config(older), config(newer)).join(', ')}`}
        </span>
      </div>
      <pre className="diff" data-testid="version-diff">
        {lines.map((line, index) => (
          <span key={index} className={`diff-${line.kind}`}>
            {marks[line.kind]} {line.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </div>
  );
}

/** The next version's config as JSON, from the live one; published as is. */
function Publish({ app, onPublished }: { app: AppView; onPublished: () => void }) {
  const [text, setText] = useState(() => canonicalJson(app.config));
  useEffect(() => setText(canonicalJson(app.config)), [app.config]);
  const { error, run } = useAction();
  const publish = () =>
    run(async () => {
      let config: unknown;
      try {
        config = JSON.parse(text);
      } catch (failure) {
        throw new Error(`The config is not JSON: ${(failure as Error).message}`);
      }
      await api('POST', `/v1/apps/${encodeURIComponent(app.name)}/versions`, config);
      onPublished();
    });
  return (
    <div>
      <label>
        Config of the next version (JSON, as `POST /v1/apps/{app.name}/versions` takes it)
        <textarea name="next-config" rows={12} spellCheck={false} value={text} onChange={(event) => setText(event.target.value)} />
      </label>
      <div className="row">
        <button type="button" onClick={() => void publish()}>
          Publish version {app.latest_version + 1}
        </button>
        <span className="muted">It goes live at once; a conversation that continues uses it from its next call.</span>
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

export function AppVersions({ app, admin, onChanged }: { app: AppView; admin: boolean; onChanged: () => void }) {
  const versions = useLoad(
    () => list<AppVersionView>(`/v1/apps/${encodeURIComponent(app.name)}/versions`),
    `${app.name}/${app.latest_version}/${app.live_version}`,
  );
  const { error, run } = useAction();
  const makeLive = (version: number) =>
    run(async () => {
      await api('POST', `/v1/apps/${encodeURIComponent(app.name)}/rollback`, { version });
      onChanged();
    });
  const all = [...(versions.data ?? [])].sort((left, right) => left.version - right.version);
  return (
    <section className="panel" aria-label="Versions">
      <h2>Versions</h2>
      <ErrorNote error={versions.error ?? error} />
      <table data-testid="app-versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Created</th>
            <th>Changed from the one before</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...all].reverse().map((version) => {
            const before = all.find((candidate) => candidate.version === version.version - 1);
            return (
              <tr key={version.version}>
                <td>
                  {version.version} {version.live && <span className="badge active">live</span>}
                </td>
                <td>
                  <Time at={version.created_at * 1000} />
                </td>
                <td>{before ? changedFields(before.config, version.config).join(', ') || 'nothing' : 'first version'}</td>
                <td>
                  {admin && !version.live && (
                    <button type="button" className="quiet" onClick={() => void makeLive(version.version)}>
                      {version.version < app.live_version ? `Roll back to version ${version.version}` : `Make version ${version.version} live`}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {all.length > 1 && <VersionDiff versions={all} />}
      {admin && <Publish app={app} onPublished={onChanged} />}
    </section>
  );
}
