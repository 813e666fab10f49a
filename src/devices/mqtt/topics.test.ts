import { describe, expect, test } from 'vitest';
import { parseCommand, parseConnection, parseReply } from './protocol.js';
import { TopicTree } from './topics.js';

describe('TopicTree', () => {
  const tree = new TopicTree('nimbus');

  test('builds the tenant-scoped tree', () => {
    expect(tree.device('t1', 'lamp-1')).toBe('nimbus/t1/devices/lamp-1');
    expect(tree.state('t1', 'lamp-1')).toBe('nimbus/t1/devices/lamp-1/$state');
    expect(tree.reported('t1', 'lamp-1')).toBe('nimbus/t1/devices/lamp-1/reported');
    expect(tree.set('t1', 'lamp-1')).toBe('nimbus/t1/devices/lamp-1/set');
    expect(tree.action('t1', 'lamp-1', 'toggle')).toBe('nimbus/t1/devices/lamp-1/actions/toggle');
    expect(tree.replies('t1', 'lamp-1')).toBe('nimbus/t1/devices/lamp-1/replies');
    expect(tree.event('t1', 'lamp-1', 'jam')).toBe('nimbus/t1/devices/lamp-1/events/jam');
    expect(tree.estop('t1')).toBe('nimbus/t1/$estop');
  });

  test.each([
    ['nimbus/t1/devices/d/$state', { tenantId: 't1', deviceId: 'd', channel: 'state' }],
    ['nimbus/t1/devices/d/reported', { tenantId: 't1', deviceId: 'd', channel: 'reported' }],
    ['nimbus/t1/devices/d/replies', { tenantId: 't1', deviceId: 'd', channel: 'reply' }],
    ['nimbus/t1/devices/d/events/jam', { tenantId: 't1', deviceId: 'd', channel: 'event', name: 'jam' }],
    ['other/t1/devices/d/reported', undefined],
    ['nimbus/t1/things/d/reported', undefined],
    ['nimbus/t1/devices/d/set', { tenantId: 't1', deviceId: 'd', channel: 'set' }],
    ['nimbus/t1/devices/d/actions/go', undefined],
    ['nimbus/t1/devices/d/events', undefined],
    ['nimbus/t1/devices/d/events/a/b', undefined],
    ['nimbus//devices/d/reported', undefined],
  ])('parses %s', (topic, expected) => {
    expect(tree.parse(topic)).toEqual(expected);
  });

  test('refuses levels that would escape the prefix', () => {
    expect(() => tree.device('t1', 'a/b')).toThrow();
    expect(() => tree.device('t+', 'a')).toThrow();
    expect(() => tree.device('t1', '#')).toThrow();
    expect(() => new TopicTree('a/b')).toThrow();
  });

  test('subscribes to what devices publish, and to the property commands sent to them', () => {
    expect(tree.inboundFilters()).toEqual([
      'nimbus/+/devices/+/$state',
      'nimbus/+/devices/+/reported',
      'nimbus/+/devices/+/events/+',
      'nimbus/+/devices/+/replies',
      'nimbus/+/devices/+/set',
    ]);
  });
});

describe('protocol', () => {
  test('replies need an id (or MQTT 5 correlation data) and a known status', () => {
    expect(parseReply('{"id":"cmd_1","status":"acked","output":{"on":true}}')).toEqual({ id: 'cmd_1', status: 'acked', output: { on: true } });
    expect(parseReply('{"status":"failed","error":"jammed"}', 'cmd_2')).toEqual({ id: 'cmd_2', status: 'failed', error: 'jammed' });
    expect(parseReply('{"id":"cmd_1","status":"done"}')).toBeUndefined();
    expect(parseReply('{"status":"acked"}')).toBeUndefined();
    expect(parseReply('not json')).toBeUndefined();
    expect(parseReply('[1]')).toBeUndefined();
    expect(parseReply(`{"id":"c","status":"failed","error":"${'x'.repeat(900)}"}`)!.error).toHaveLength(500);
  });

  test('commands carry id, reply topic and deadline', () => {
    expect(parseCommand('{"id":"c","replyTo":"r","deadline":5,"desired":{"on":true}}')).toEqual({ id: 'c', replyTo: 'r', deadline: 5, desired: { on: true } });
    expect(parseCommand('{"id":"c","replyTo":"r","deadline":5,"input":null}')).toEqual({ id: 'c', replyTo: 'r', deadline: 5, input: null });
    expect(parseCommand('{"id":"c","deadline":5}')).toBeUndefined();
    expect(parseCommand('{"id":"c","replyTo":"r","deadline":5,"desired":[1]}')).toBeUndefined();
  });

  test('lifecycle states', () => {
    expect(parseConnection('online')).toBe('online');
    expect(parseConnection(Buffer.from('lost'))).toBe('lost');
    expect(parseConnection('offline\n')).toBe('offline');
    expect(parseConnection('ready')).toBe('unknown');
  });
});
