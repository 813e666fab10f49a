import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client.js';
import type { EmergencyStop } from '../api/types.js';
import { useConsole, useLive } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';

/**
 * The emergency stop, on every page and always in view: anyone who sees devices may engage it;
 * clearing it needs an admin key. One button changes its label, so the keyboard focus stays on it
 * after a press; the state is announced to screen readers as it changes, whoever changed it.
 */
export function EstopBar() {
  const { me, live } = useConsole();
  const { estopActive } = useLive();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
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
  const canClear = me.scopes.admin;
  // aria-disabled rather than disabled while busy: a disabled button drops the keyboard focus.
  const press = (): void => {
    if (busy) return;
    void change(!estopActive);
    button.current?.focus();
  };
  return (
    <div className={`estop${estopActive ? ' on' : ''}`} role="region" aria-label="Emergency stop">
      <strong role="status" aria-live="assertive" data-testid="estop-state">
        {estopActive ? 'Emergency stop is ON: every device command is refused.' : 'Devices: normal operation.'}
      </strong>
      {(!estopActive || canClear) && (
        <button ref={button} type="button" className={estopActive ? undefined : 'danger'} aria-disabled={busy} onClick={press}>
          {estopActive ? 'Clear emergency stop' : 'Emergency stop'}
        </button>
      )}
      {estopActive && !canClear && <span>An admin key clears it.</span>}
      <ErrorNote error={error} />
    </div>
  );
}
