/**
 * The pool's pure logic: memory estimates, placement of replicas on workers, routing policies,
 * the plan of each reconciliation, autoscaling decisions and demand, and load backoff.
 * No HTTP, no database, no clock of its own; the pool runtime (workers, control plane) calls it.
 */
export { fitOnWorker, type DeviceChoice, type Fit, type FitOutcome, type FitTier } from './fit-on-worker.js';
export { defaultEstimateOptions, estimateMemory, type MemoryEstimate, type MemoryEstimateOptions } from './memory-estimate.js';
export { placeDeployment, type DeploymentSpec, type PlacementResult, type ReplicaDecision, type WorkerVerdict } from './place-deployment.js';
export { gibibytes, type GpuSnapshot, type WorkerSnapshot, type WorkerState } from './pool-snapshot.js';
export { createRouter, defaultRoutingPolicy, parseRoutingPolicy, routingPolicies, type RoutingPolicy } from './routing/create-router.js';
export { HashRing, hash32 } from './routing/hash-ring.js';
export { LeastOutstandingTokensRouter } from './routing/least-outstanding-tokens-router.js';
export { PrefixCacheRouter, defaultPrefixCacheOptions, type PrefixCacheOptions } from './routing/prefix-cache-router.js';
export { SessionAffinityRouter } from './routing/session-affinity-router.js';
export { prefixKeysOf, prefixBlockChars, routingKeys } from './routing/routing-keys.js';
export { modelRouting, type ModelRoutingSettings } from './routing/model-routing.js';
export { defaultRetireTimeoutMs, planReplicas, scaleDownOrder, type ReplicaFacts, type ReplicaPlan, type WantedCount } from './plan-replicas.js';
export { WorkerHealth, defaultHeartbeatPolicy, type HeartbeatPolicy, type WorkerHealthReport, type WorkerLoad } from './worker-health.js';
export { explainPlacement } from './explain-placement.js';
export { decideScale, defaultAutoscale, measureDemand, type ScaleDecision, type ScaleInput } from './decide-scale.js';
export { afterLoadFailure, defaultLoadBackoff, loadBackoffDelay, mayPlaceAgain, type LoadBackoff, type LoadBackoffPolicy } from './load-backoff.js';
export { leasePolicy, mayLead, nextLeaseStep, releasedLease, type LeasePolicy, type LeaseStep } from './pool-lease-rules.js';
