/**
 * The Alerts page (its own chunk): what fires now, then what resolved lately, each linking to the
 * page of its subject. Reloaded when the feed reports a transition (`alertsVersion`).
 */
import { list } from '../api/client.js';
import type { Alert } from '../api/types.js';
import { useLive, useLoad } from '../live/console-context.js';
import { ErrorNote, Time } from '../ui/error-note.js';
import { Link } from '../ui/router.js';

const kindNames: Record<Alert['kind'], string> = {
  worker_lost: 'Worker lost',
  deployment_unplaceable: 'Cannot place',
  budget_high: 'Budget at 80%',
  estop_engaged: 'Emergency stop',
};

function AlertRows({ alerts, resolved }: { alerts: readonly Alert[]; resolved: boolean }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Kind</th>
          <th>What</th>
          <th>{resolved ? 'Resolved' : 'Since'}</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((alert) => (
          <tr key={alert.id} data-testid="alert-row">
            <td>{kindNames[alert.kind] ?? alert.kind}</td>
            <td>
              <Link to={alert.link}>{alert.message}</Link>
            </td>
            <td>
              <Time at={1000 * (resolved ? (alert.resolved_at ?? alert.last_seen_at) : alert.first_seen_at)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Firing alerts, then the last resolved ones. */
export function AlertsPage() {
  const { alertsVersion } = useLive();
  const loaded = useLoad(() => list<Alert>('/v1/alerts?limit=100'), alertsVersion);
  const alerts = loaded.data ?? [];
  const firing = alerts.filter((alert) => alert.state === 'firing');
  const resolved = alerts.filter((alert) => alert.state === 'resolved').slice(0, 20);
  return (
    <section>
      <h1>Alerts</h1>
      <ErrorNote error={loaded.error} />
      {loaded.data && firing.length === 0 && <p>Nothing fires now.</p>}
      {firing.length > 0 && <AlertRows alerts={firing} resolved={false} />}
      {resolved.length > 0 && (
        <>
          <h2>Resolved lately</h2>
          <AlertRows alerts={resolved} resolved />
        </>
      )}
    </section>
  );
}
