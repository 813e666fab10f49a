import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client.js';
import type { AuditEntry, DeviceAction } from '../api/types.js';
import { CommandDesk, type DeviceCommand } from './command-desk.js';

const unlock: DeviceCommand = { device: 'sim-lock-1', kind: 'invoke', name: 'unlock', value: { seconds: 5 } };
const decision = (event: string, approval: string): AuditEntry => ({
  id: 'a',
  event,
  approval,
  seq: 1,
  at: 1,
  actor: 'op',
  key: null,
  model: null,
  conversation: null,
  source: 'rest',
  device: 'sim-lock-1',
  command: null,
  detail: {},
});

describe('CommandDesk', () => {
  it('waits for the approval, then sends the same command presenting it', async () => {
    const sent: Array<string | undefined> = [];
    const desk = new CommandDesk(async (_command, approval) => {
      sent.push(approval);
      const answer: DeviceAction = approval
        ? { device: 'sim-lock-1', kind: 'invoke', status: 'acked', message: 'done', state_after: { locked: false } }
        : { device: 'sim-lock-1', kind: 'invoke', status: 'approval_required', approval: 'apr_1', message: 'needs approval' };
      return answer;
    });
    await desk.submit(unlock);
    expect(desk.get()[0]).toMatchObject({ state: 'waiting_for_approval', approval: 'apr_1' });
    desk.onAudit(decision('approval_granted', 'apr_other'));
    expect(sent).toEqual([undefined]);
    desk.onAudit(decision('approval_granted', 'apr_1'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent).toEqual([undefined, 'apr_1']);
    expect(desk.get()[0]).toMatchObject({ state: 'done', result: { status: 'acked' } });
  });

  it('ends the wait on a denial, and shows refusals in words', async () => {
    const desk = new CommandDesk(async () => ({ device: 'd', kind: 'invoke', status: 'approval_required', approval: 'apr_2', message: '' }));
    await desk.submit(unlock);
    desk.onAudit(decision('approval_denied', 'apr_2'));
    expect(desk.get()[0]).toMatchObject({ state: 'denied', error: 'A person denied this command.' });
    const refusing = new CommandDesk(async () => {
      throw new ApiError('The emergency stop is on.', 409, 'emergency_stop');
    });
    await refusing.submit(unlock);
    expect(refusing.get()[0]).toMatchObject({ state: 'failed', error: 'The emergency stop is on.' });
  });
});
