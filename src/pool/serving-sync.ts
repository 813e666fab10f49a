/**
 * Keeps the pool engine's deployments and replicas in step with the provisioner: one engine per
 * replica (made by the caller's `replicaEngine`, kept while its endpoint and secret stay the same,
 * closed once the replica goes), each deployment's router from its routing policy.
 */
import { createRouter, parseRoutingPolicy } from '../cluster/index.js';
import type { Engine } from '../core/engine.js';
import type { DeploymentRecord } from '../core/pool-store.js';
import type { ProvisionedReplica, ReplicaEndpoint } from '../core/replica-provisioner.js';
import { servingId, type PoolParts } from './pool-state.js';

/** An engine that reaches one replica at its endpoint (an OpenAI engine with the replica's secret). */
export type ReplicaEngineFactory = (replica: ProvisionedReplica & { endpoint: ReplicaEndpoint }) => Engine;

/** The pool engine's view of the pool, refreshed after every reconcile. */
export class ServingSync {
  private readonly engines = new Map<string, { key: string; engine: Engine }>();
  private readonly routing = new Map<string, string>();

  constructor(
    private readonly parts: PoolParts,
    private readonly replicaEngine: ReplicaEngineFactory,
    private readonly prefixBlockChars?: number,
  ) {}

  /** Gives the pool engine every deployment and its replicas; closes engines of replicas that went. */
  refresh(deployments: readonly DeploymentRecord[], replicas: readonly ProvisionedReplica[]): void {
    const { serving, state } = this.parts;
    const live = new Set<string>();
    for (const deployment of deployments) {
      if (this.routing.get(deployment.name) !== deployment.routing) {
        const estimatedTtft = this.prefixBlockChars !== undefined ? { prefixBlockChars: this.prefixBlockChars } : {};
        serving.deploy(deployment.name, createRouter(parseRoutingPolicy(deployment.routing), { estimatedTtft }));
        this.routing.set(deployment.name, deployment.routing);
      }
      const reachable = replicas.filter(
        (replica): replica is ProvisionedReplica & { endpoint: ReplicaEndpoint } => replica.deployment === deployment.name && replica.endpoint !== undefined,
      );
      state.served.set(deployment.name, reachable);
      const served = reachable.map((replica) => {
        live.add(replica.id);
        return {
          id: servingId(replica),
          worker: replica.host,
          engine: this.engineFor(replica),
          healthy: () => state.serves(replica.id),
          stalled: () => this.parts.provisioner.stalled(replica.id),
        };
      });
      serving.setReplicas(deployment.name, served);
    }
    for (const name of [...this.routing.keys()]) {
      if (deployments.some((deployment) => deployment.name === name)) continue;
      serving.undeploy(name);
      this.routing.delete(name);
      state.served.delete(name);
    }
    for (const [id, entry] of [...this.engines]) {
      if (live.has(id)) continue;
      this.engines.delete(id);
      entry.engine.close().catch((error: unknown) => this.parts.onError(error));
    }
  }

  private engineFor(replica: ProvisionedReplica & { endpoint: ReplicaEndpoint }): Engine {
    const key = `${replica.endpoint.url}\u0000${replica.endpoint.secret}`;
    const known = this.engines.get(replica.id);
    if (known?.key === key) return known.engine;
    if (known) known.engine.close().catch((error: unknown) => this.parts.onError(error));
    const engine = this.replicaEngine(replica);
    this.engines.set(replica.id, { key, engine });
    return engine;
  }
}
