import { describe, expect, test } from 'vitest';
import type { AppConfig } from '../../core/app-config.js';
import type { ResponseRequest } from '../../core/openai/response-request-schema.js';
import type { AppCall } from './app-call.js';
import { appResponseRequest, endUserOf } from './app-response-request.js';

const call = (config: AppConfig, memory: AppCall['memory'] = []): AppCall =>
  ({
    app: { tenantId: 't', name: 'car', liveVersion: 3, latestVersion: 3, createdAt: 0, updatedAt: 0, config },
    model: 'app:car',
    memory,
  }) as unknown as AppCall;

describe('an app’s response request', () => {
  test('the app brings instructions (with memory), tools for functions, knowledge, devices and MCP servers, format and sampling', () => {
    const body: ResponseRequest = { model: 'app:car', input: 'open the window', user: 'ada', max_output_tokens: 500 };
    const merged = appResponseRequest(
      body,
      call(
        {
          model: 'm',
          instructions: 'Be safe.',
          tools: [{ type: 'function', name: 'honk' }],
          vector_store_ids: ['vs_1'],
          devices: ['car-1'],
          mcp_servers: [{ server_label: 'maps', server_url: 'https://maps.example.com/mcp' }],
          text: { format: { type: 'json_object' } },
          temperature: 0.1,
          max_output_tokens: 200,
        },
        [{ user: 'hi', assistant: 'hello' }],
      ),
    );
    expect(merged).toMatchObject({
      model: 'app:car',
      input: 'open the window',
      user: 'ada',
      temperature: 0.1,
      top_p: null,
      max_output_tokens: 200,
      text: { format: { type: 'json_object' } },
      tools: [
        { type: 'function', name: 'honk' },
        { type: 'file_search', vector_store_ids: ['vs_1'] },
        { type: 'nimbus_devices', devices: ['car-1'] },
        { type: 'mcp', server_label: 'maps', server_url: 'https://maps.example.com/mcp' },
      ],
    });
    expect(merged.instructions).toMatch(/^Be safe\.\n\nWhat you remember .*\nUser: hi\nAssistant: hello$/s);
    expect(appResponseRequest({ model: 'app:car', input: 'x', max_output_tokens: 50 }, call({ model: 'm', max_output_tokens: 200 })).max_output_tokens).toBe(
      50,
    );
    expect(appResponseRequest({ model: 'app:car', input: 'x' }, call({ model: 'm', devices: '*' })).tools).toEqual([{ type: 'nimbus_devices', devices: true }]);
    // Approvals the client presents go into the app's device tool.
    expect(appResponseRequest({ model: 'app:car', input: 'x' }, call({ model: 'm', devices: ['car-1'] }), ['apr_1']).tools).toEqual([
      { type: 'nimbus_devices', devices: ['car-1'], approvals: ['apr_1'] },
    ]);
  });

  test('a field the app sets may not come with the request', () => {
    for (const field of [
      { instructions: 'x' },
      { tools: [{ type: 'function' as const, name: 'f' }] },
      { temperature: 1 },
      { top_p: 0.5 },
      { text: { format: { type: 'text' as const } } },
    ])
      expect(() => appResponseRequest({ model: 'app:car', input: 'x', ...field }, call({ model: 'm' }))).toThrow(/is set by the app 'car' \(version 3\)/);
  });

  test('the end user is `user`, else metadata.user_id', () => {
    expect(endUserOf({ user: 'a', metadata: { user_id: 'b' } })).toBe('a');
    expect(endUserOf({ metadata: { user_id: 'b' } })).toBe('b');
    expect(endUserOf({})).toBeUndefined();
  });
});
