import { expect, test } from 'vitest';
import { coerceValue, resolveConfig } from './config.js';

test('devices: the embedded broker on 127.0.0.1:1883 by default, with conservative safety settings', () => {
  const config = resolveConfig([]);
  expect(config).toMatchObject({ mqttPort: 1883, mqttHost: '127.0.0.1' });
  expect(config.mqttUrl).toBeUndefined();
  expect(config.devices).toEqual({
    topicRoot: 'nimbus',
    commandTimeoutMs: 10_000,
    approvalTtlMs: 120_000,
    approvalRequestTtlMs: 900_000,
    maxDevicesPerRequest: 3,
    rateLimitPerMinute: 30,
    rateLimitBurst: 10,
    maxToolSteps: 4,
    taintWindowMs: 900_000,
    actuationsPerKeyPerMinute: 10,
    approvalRequestsPerKeyPerMinute: 10,
  });
});

test('devices: an external broker by URL, or off; bad values name the fix', () => {
  expect(resolveConfig([{ source: 'NIMBUS_MQTT_URL', values: { mqttUrl: 'mqtt://10.0.0.5:1883' } }]).mqttUrl).toBe('mqtt://10.0.0.5:1883');
  expect(resolveConfig([{ source: 'x', values: { mqttUrl: 'off' } }]).mqttUrl).toBe('off');
  expect(coerceValue('mqttPort', '1884')).toBe(1884);
  expect(() => resolveConfig([{ source: 'NIMBUS_MQTT_URL', values: { mqttUrl: 'http://broker' } }])).toThrowError(
    /'mqttUrl' \(from NIMBUS_MQTT_URL\).*mqtt:\/\/HOST:1883/,
  );
  expect(() => resolveConfig([{ source: 'NIMBUS_MQTT_PORT', values: { mqttPort: 70000 } }])).toThrowError(/'mqttPort'.*embedded MQTT broker/);
  expect(() => resolveConfig([{ source: 'nimbus.json', values: { devices: { maxDevices: 2 } } }])).toThrowError(/unknown key 'maxDevices'/);
  expect(() => resolveConfig([{ source: 'nimbus.json', values: { devices: { topicRoot: 'a/b' } } }])).toThrowError(/devices.topicRoot/);
});
