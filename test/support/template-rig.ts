/**
 * The rig of the templates' end-to-end tests (issue 23): `nimbus serve` as a process with its
 * embedded broker and a scripted OpenAI-compatible upstream as model `scripted` (choosing a tool
 * needs judgement a 260K model lacks, so the script decides; the real loop, store, search, policy
 * and ledger run the mechanics), an operator key, the official `openai` client, and the
 * templates created through the API as `createFromTemplate` does it (knowledge uploaded and
 * indexed, then the apps). Run `npm run build` first.
 */
import OpenAI from 'openai';
import { adminClient } from '../../src/cli/admin-client.js';
import { createFromTemplate, loadTemplate, type CreatedFromTemplate } from '../../src/cli/app-templates.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './safety-rig.js';

export interface TemplateRig {
  server: SafetyServer;
  upstream: ScriptedUpstream;
  operator: string;
  /** The official client with the operator key. */
  client: OpenAI;
  /** Creates the apps of template NAME on model `scripted`, its knowledge uploaded and indexed first; `lines` holds what it reported. */
  createFromTemplate(name: string, lines?: string[]): Promise<CreatedFromTemplate>;
  stop(): Promise<void>;
}

export async function startTemplateRig(): Promise<TemplateRig> {
  const upstream = await startScriptedUpstream();
  const server = await startSafetyServer({ upstream });
  const operator = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  return {
    server,
    upstream,
    operator,
    client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: operator, maxRetries: 0 }),
    createFromTemplate: (name, lines = []) =>
      createFromTemplate(adminClient({ NIMBUS_URL: server.url, NIMBUS_API_KEY: operator }), loadTemplate(name), { model: 'scripted' }, (line) =>
        lines.push(line),
      ),
    async stop() {
      await server.stop();
      await upstream.close();
    },
  };
}
