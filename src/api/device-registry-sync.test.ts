import { expect, test } from 'vitest';
import type { LiveEvent } from '../core/live-events.js';
import { registryChange } from './device-registry-sync.js';

const audit = (data: object, type: LiveEvent['type'] = 'audit'): LiveEvent => ({ type, tenantId: 'acme', keyId: null, deviceId: null, adminOnly: true, data });

test.each([
  ['a registration', audit({ event: 'device_registered', device: 'lamp-1' }), { tenantId: 'acme', deviceId: 'lamp-1' }],
  ['a removal', audit({ event: 'device_removed', device: 'lamp-1' }), { tenantId: 'acme', deviceId: 'lamp-1' }],
  ['a command', audit({ event: 'command_executed', device: 'lamp-1' }), undefined],
  ['a registration without a device', audit({ event: 'device_registered', device: null }), undefined],
  ['a twin event', audit({ event: 'device_registered', device: 'lamp-1' }, 'twin'), undefined],
  ['an approval', audit({ event: 'device_registered', device: 'lamp-1' }, 'approval'), undefined],
  ['no event name', audit({ device: 'lamp-1' }), undefined],
])('%s -> %j', (_name, event, expected) => {
  expect(registryChange(event)).toEqual(expected);
});
