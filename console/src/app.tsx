/**
 * The console's shell: sign in (an API key, or none in local mode), then the navigation the key's
 * scopes allow, the emergency stop always in view, and the page of the address bar.
 */
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { api, ApiError, list, storedKey, storeKey, unauthorizedEvent } from './api/client.js';
import { openEventFeed } from './api/event-feed.js';
import type { Approval, Me } from './api/types.js';
import { CommandDesk } from './live/command-desk.js';
import { ConsoleContext, useLoad, type ConsoleServices } from './live/console-context.js';
import { LiveStore } from './live/live-store.js';
import { EstopBar } from './pages/estop-bar.js';
import { OverviewPage } from './pages/overview.js';
import { SignIn } from './pages/sign-in.js';
import { Link, usePath } from './ui/router.js';

// The overview is the first page and comes with the shell; every other page is its own chunk,
// fetched when first opened, so the initial JavaScript stays small as pages arrive.
const PlaygroundPage = lazy(() => import('./pages/playground.js').then((module) => ({ default: module.PlaygroundPage })));
const RequestsPage = lazy(() => import('./pages/requests.js').then((module) => ({ default: module.RequestsPage })));
const UsagePage = lazy(() => import('./pages/usage.js').then((module) => ({ default: module.UsagePage })));
const AppsPage = lazy(() => import('./pages/apps.js').then((module) => ({ default: module.AppsPage })));
const BatchesPage = lazy(() => import('./pages/batches.js').then((module) => ({ default: module.BatchesPage })));
const KnowledgePage = lazy(() => import('./pages/knowledge.js').then((module) => ({ default: module.KnowledgePage })));
const WorkersPage = lazy(() => import('./pages/workers.js').then((module) => ({ default: module.WorkersPage })));
const ModelsPage = lazy(() => import('./pages/models.js').then((module) => ({ default: module.ModelsPage })));
const KeysPage = lazy(() => import('./pages/keys.js').then((module) => ({ default: module.KeysPage })));
const DevicesPage = lazy(() => import('./pages/devices.js').then((module) => ({ default: module.DevicesPage })));
const ApprovalsPage = lazy(() => import('./pages/approvals.js').then((module) => ({ default: module.ApprovalsPage })));
const AuditPage = lazy(() => import('./pages/audit.js').then((module) => ({ default: module.AuditPage })));
const AlertsPage = lazy(() => import('./pages/alerts.js').then((module) => ({ default: module.AlertsPage })));

interface PageEntry {
  path: string;
  title: string;
  allowed: (me: Me) => boolean;
  render: () => React.ReactNode;
  /** Reached from elsewhere (the alerts indicator), not listed in the navigation. */
  unlisted?: true;
}

/** The Devices page and the stop bar: a key with a device scope, and every admin (who oversees the tenant's devices). */
const hasDevices = (me: Me): boolean => me.devices_enabled && (me.scopes.admin || me.scopes.devices === '*' || me.scopes.devices.length > 0);
const seesApprovals = (me: Me): boolean => me.devices_enabled && me.scopes.admin;

const pages: PageEntry[] = [
  { path: '/', title: 'Overview', allowed: () => true, render: () => <OverviewPage /> },
  { path: '/playground', title: 'Playground', allowed: (me) => me.scopes.inference, render: () => <PlaygroundPage /> },
  // Files and vector stores belong to the key's tenant and need inference scope, as the API does.
  { path: '/knowledge', title: 'Knowledge', allowed: (me) => me.scopes.inference, render: () => <KnowledgePage /> },
  // Apps belong to the key's tenant; reading and calling them needs inference scope (creating one, admin).
  { path: '/apps', title: 'Apps', allowed: (me) => me.scopes.inference, render: () => <AppsPage /> },
  // Batches belong to the key's tenant and need inference scope, as the API does.
  { path: '/batches', title: 'Batches', allowed: (me) => me.scopes.inference, render: () => <BatchesPage /> },
  { path: '/usage', title: 'Usage', allowed: () => true, render: () => <UsagePage /> },
  // The ledger's rows: the operator every tenant's, a tenant's admin its tenant's, any other key its own.
  { path: '/requests', title: 'Request log', allowed: () => true, render: () => <RequestsPage /> },
  // The model cache and the pool are the whole cloud's: the operator's page.
  { path: '/models', title: 'Models', allowed: (me) => me.operator, render: () => <ModelsPage /> },
  { path: '/workers', title: 'Workers', allowed: (me) => me.operator, render: () => <WorkersPage /> },
  { path: '/keys', title: 'Keys and tenants', allowed: (me) => me.scopes.admin, render: () => <KeysPage /> },
  { path: '/devices', title: 'Devices', allowed: hasDevices, render: () => <DevicesPage /> },
  { path: '/approvals', title: 'Approvals', allowed: seesApprovals, render: () => <ApprovalsPage /> },
  { path: '/audit', title: 'Audit log', allowed: (me) => me.devices_enabled && me.scopes.admin, render: () => <AuditPage /> },
  // The operator every alert, any other key its tenant's (budgets, the stop), as GET /v1/alerts.
  { path: '/alerts', title: 'Alerts', allowed: () => true, render: () => <AlertsPage />, unlisted: true },
];

/** The live store and command desk of one signed-in session, fed from the moment the page loads. */
interface Session {
  live: LiveStore;
  desk: CommandDesk;
}

function newSession(): Session {
  const live = new LiveStore();
  const desk = new CommandDesk();
  live.watchAudit((entry) => desk.onAudit(entry));
  return { live, desk };
}

/** Approval requests waiting for a decision, kept current by the live feed (admins only; 0 otherwise). */
function usePendingApprovals(me: Me, live: LiveStore): number {
  const [version, setVersion] = useState(live.get().approvalsVersion);
  useEffect(() => live.subscribe(() => setVersion(live.get().approvalsVersion)), [live]);
  const pending = useLoad(() => (seesApprovals(me) ? list<Approval>('/v1/approvals?status=requested&limit=100') : Promise.resolve([])), version);
  return pending.data?.length ?? 0;
}

/** Alerts firing now that this key may see, kept current by the feed's `alert` events. */
function useFiringAlerts(live: LiveStore): number {
  const [version, setVersion] = useState(live.get().alertsVersion);
  useEffect(() => live.subscribe(() => setVersion(live.get().alertsVersion)), [live]);
  const firing = useLoad(() => list<{ id: string }>('/v1/alerts?state=firing&limit=100'), version);
  return firing.data?.length ?? 0;
}

function Console({ me, session, signOut, signIn }: { me: Me; session: Session; signOut: () => void; signIn: (key: string) => void }) {
  const path = usePath();
  const services = useMemo<ConsoleServices>(() => ({ me, ...session, signOut, signIn }), [me, session, signOut, signIn]);
  const allowed = pages.filter((page) => page.allowed(me));
  const page = allowed.find((candidate) => candidate.path === path);
  const pending = usePendingApprovals(me, session.live);
  const firing = useFiringAlerts(session.live);
  useEffect(() => {
    document.title = `${pending > 0 ? `(${pending}) ` : ''}${page?.title ?? 'Not found'} · Nimbus`;
  }, [page, pending]);
  return (
    <ConsoleContext.Provider value={services}>
      <a className="skip" href="#main">
        Skip to the page
      </a>
      <header className="top">
        <span className="brand">Nimbus</span>
        <nav aria-label="Pages">
          {allowed
            .filter((entry) => !entry.unlisted)
            .map((entry) => (
              <Link key={entry.path} to={entry.path} current={entry.path === path}>
                {entry.title}
                {entry.path === '/approvals' && pending > 0 && (
                  <>
                    <span className="count" data-testid="pending-approvals" aria-hidden="true">
                      {pending}
                    </span>
                    <span className="sr-only">, {pending} waiting</span>
                  </>
                )}
              </Link>
            ))}
        </nav>
        <Link to="/alerts" current={path === '/alerts'} className={firing > 0 ? 'alerts firing' : 'alerts'} testId="alerts-indicator">
          Alerts <span className="count">{firing}</span>
          <span className="sr-only"> firing</span>
        </Link>
        <span className="who" title={me.scopes.admin ? 'admin' : 'inference'}>
          {me.local ? 'local mode' : `${me.tenant} · ${me.key ?? ''}`}
        </span>
        {!me.local && (
          <button type="button" className="quiet" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      {hasDevices(me) && <EstopBar />}
      <main id="main" tabIndex={-1}>
        {page ? (
          <Suspense fallback={<p className="loading">Loading the page…</p>}>{page.render()}</Suspense>
        ) : (
          <section>
            <h1>Page not found</h1>
            <p>There is no page at {path}, or this API key may not see it. Pick one of the pages above.</p>
          </section>
        )}
      </main>
    </ConsoleContext.Provider>
  );
}

/** Who this tab is, asked as the script loads rather than after the first render (the overview's first second counts). */
let firstCheck: Promise<Me> | undefined = api<Me>('GET', '/v1/me');
firstCheck.catch(() => undefined);

/** Asks the server who this tab is: signed in, local mode, or a sign-in form. */
export function App() {
  const [me, setMe] = useState<Me | null>(null);
  // A new session (store, desk, feed) per sign-in; the feed opens at once, alongside /v1/me.
  const [session, setSession] = useState(newSession);
  useEffect(
    () =>
      openEventFeed({
        onEvents: (events) => session.live.receiveAll(events),
        onStatus: (status) => session.live.setStatus(status),
      }),
    [session],
  );
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const check = async (): Promise<void> => {
    setChecking(true);
    try {
      const answer = firstCheck ?? api<Me>('GET', '/v1/me');
      firstCheck = undefined;
      setMe(await answer);
      setError(null);
    } catch (failure) {
      setMe(null);
      // No key yet is not an error to show: it is why the form is there.
      const missing = failure instanceof ApiError && failure.status === 401 && !storedKey();
      setError(missing ? null : (failure as Error).message);
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    void check();
  }, []);
  const signOut = useMemo(
    () => () => {
      storeKey('');
      setMe(null);
      setError(null);
      setSession(newSession());
    },
    [],
  );
  const signIn = useMemo(
    () => (key: string) => {
      storeKey(key);
      setSession(newSession());
      void check();
    },
    [],
  );
  // The server stopped accepting this tab (local mode ended elsewhere, or the key was revoked):
  // back to the sign-in form with the reason, not a console of 401s.
  useEffect(() => {
    const refused = (): void => {
      if (!me) return;
      const reason = me.local
        ? 'Local mode has ended: an API key now exists, so every request needs one. Sign in with an admin key.'
        : 'The server no longer accepts this API key (revoked, or the server was reset). Sign in again.';
      storeKey('');
      setMe(null);
      setError(reason);
      setSession(newSession());
    };
    addEventListener(unauthorizedEvent, refused);
    return () => removeEventListener(unauthorizedEvent, refused);
  }, [me]);
  if (checking && !me) return <p className="loading">Connecting to Nimbus…</p>;
  if (!me) return <SignIn error={error} onKey={signIn} />;
  return <Console me={me} session={session} signOut={signOut} signIn={signIn} />;
}
