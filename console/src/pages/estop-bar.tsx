import { useEffect, useState } from 'react';
import { api } from '../api/client.js';
import type { EmergencyStop } from '../api/types.js';
import { useConsole, useLive } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';

/** The emergency stop, on every page: anyone may engage it; clearing it needs an admin key. */
export function EstopBar() {
  const { me, live } = useConsole();
  const { estopActive } = useLive();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<EmergencyStop>('GET', '/v1/estop').then(
      (stop) => live.seedEstop(stop.active),
      (failure: Error) => setError(`Cannot read the emergency stop: ${failure.message}`),
    );
  }, [live]);
  const change = async (engage: boolean): Promise<void> => {
    setBusy(true);
    try {
      const stop = engage
        ? await api<EmergencyStop>('POST', '/v1/estop', { reason: 'engaged from the console' })
        : await api<EmergencyStop>('DELETE', '/v1/estop');
      live.seedEstop(stop.active);
      setError(null);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className={`estop${estopActive ? ' on' : ''}`} role="region" aria-label="Emergency stop">
      <strong aria-live="polite">{estopActive ? 'Emergency stop is ON: every device command is refused.' : 'Devices: normal operation.'}</strong>
      {estopActive ? (
        me.scopes.admin && (
          <button type="button" disabled={busy} onClick={() => void change(false)}>
            Clear emergency stop
          </button>
        )
      ) : (
        <button type="button" className="danger" disabled={busy} onClick={() => void change(true)}>
          Emergency stop
        </button>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
