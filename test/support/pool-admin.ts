/**
 * The admin API of a control plane, for tests that drive a real pool: JSON calls (local mode, no
 * key) and polling a deployment until it reaches a state.
 */

import { adminClient } from '../../src/cli/admin-client.js';

/** A deployment as `GET /v1/deployments` lists it: the fields these tests read. */
export interface DeploymentState {
  name: string;
  replicas: number;
  placed: Array<{ id: string; worker: string; state: string }>;
  autoscale?: { minReplicas: number; maxReplicas: number } | null;
  lastScale?: { at: number; from: number; to: number; reason: string };
  held?: number;
  refusal?: string;
}

/** The workers whose replica of the deployment serves now. */
export const readyWorkers = (deployment: DeploymentState): string[] =>
  deployment.placed.filter((replica) => replica.state === 'ready').map((replica) => replica.worker);

/** Admin calls against the control plane at `baseUrl()` (read at each call, so it may be set in beforeAll), with `key` where local mode is off. */
export function poolAdmin(baseUrl: () => string, key?: string) {
  /** A JSON call through the CLI's admin client; throws with the server's message on an error status. */
  const call = <T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> =>
    adminClient({ NIMBUS_URL: baseUrl(), ...(key ? { NIMBUS_API_KEY: key } : {}) }).json<T>(method, path, body);

  /** Polls until `done` holds for deployment `name`; fails with the last view after `ms`. */
  async function waitForDeployment(name: string, done: (deployment: DeploymentState) => boolean, ms = 30_000): Promise<DeploymentState> {
    const deadline = Date.now() + ms;
    let last: DeploymentState | undefined;
    while (Date.now() < deadline) {
      last = (await call<{ data: DeploymentState[] }>('GET', '/v1/deployments')).data.find((deployment) => deployment.name === name);
      if (last && done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`deployment ${name} never reached the wanted state; last: ${JSON.stringify(last)}`);
  }

  return { call, waitForDeployment };
}
