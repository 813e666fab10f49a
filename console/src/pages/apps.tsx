/**
 * Apps (issue 23): the tenant's apps (`GET /v1/apps`) with the live and latest version; for
 * admins, a form that creates one from a template or blank. An app chosen from the list shows its
 * versions (diff, publish, roll back), a playground that calls it, and its usage and cost over
 * time by version (the Usage page's chart, of this app's calls). The CLI's `nimbus apps` does the
 * same from a terminal.
 */
import { useState } from 'react';
import { list } from '../api/client.js';
import type { AppView } from '../api/types.js';
import { AppPlayground } from '../apps/app-playground.js';
import { AppVersions } from '../apps/app-versions.js';
import { CreateApp } from '../apps/create-app.js';
import { useConsole, useLoad } from '../live/console-context.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { UsageOverTime } from '../usage/over-time.js';

const dayMs = 86_400_000;
const modelsOf = (app: AppView): string => (typeof app.config.model === 'string' ? app.config.model : app.config.model.join(' → '));

/** One app: versions, playground, usage. */
function AppDetail({ app, admin, onChanged }: { app: AppView; admin: boolean; onChanged: () => void }) {
  // Usage over the last week up to now; read again after each answer.
  const [answered, setAnswered] = useState(0);
  // Today's UTC day when the app was opened; the chart itself reads up to the current hour.
  const [today] = useState(() => Math.floor(Date.now() / dayMs) * dayMs);
  return (
    <>
      <h2 data-testid="app-title">
        {app.name} <span className="muted">{app.description ?? ''}</span>
      </h2>
      <AppVersions app={app} admin={admin} onChanged={onChanged} />
      <AppPlayground app={app} onAnswered={() => setAnswered((value) => value + 1)} />
      <UsageOverTime start={today - 6 * dayMs} end={today + dayMs} version={`${app.name}/${answered}`} app={{ name: app.name, limits: app.config.limits }} />
    </>
  );
}

export function AppsPage() {
  const { me } = useConsole();
  const [version, setVersion] = useState(0);
  const [chosen, setChosen] = useState<string | null>(null);
  const apps = useLoad(() => list<AppView>('/v1/apps'), version);
  const reload = (): void => setVersion((value) => value + 1);
  const app = apps.data?.find((candidate) => candidate.name === chosen);
  return (
    <>
      <h1>Apps</h1>
      <section className="panel" aria-label="Apps">
        <ErrorNote error={apps.error} />
        {apps.data?.length === 0 && <p className="empty">No apps yet.{me.scopes.admin ? ' Create one below, from a template or blank.' : ''}</p>}
        {apps.data && apps.data.length > 0 && (
          <table data-testid="apps">
            <thead>
              <tr>
                <th>App</th>
                <th>Model</th>
                <th className="num">Live version</th>
                <th className="num">Latest</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.map((candidate) => (
                <tr key={candidate.name} aria-selected={candidate.name === chosen}>
                  <td>
                    <button type="button" className="link" onClick={() => setChosen(candidate.name)}>
                      {candidate.name}
                    </button>
                    <div className="muted">{candidate.description ?? ''}</div>
                  </td>
                  <td>
                    <code>{candidate.model}</code> <span className="muted">on {modelsOf(candidate)}</span>
                  </td>
                  <td className="num" data-testid={`live-${candidate.name}`}>
                    {candidate.live_version}
                  </td>
                  <td className="num">{candidate.latest_version}</td>
                  <td>
                    <Time at={candidate.updated_at * 1000} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {me.scopes.admin && (
        <CreateApp
          onCreated={(name) => {
            setChosen(name);
            reload();
          }}
        />
      )}
      {app && <AppDetail key={app.name} app={app} admin={me.scopes.admin} onChanged={reload} />}
    </>
  );
}
