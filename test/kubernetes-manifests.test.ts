/**
 * deploy/kubernetes: each overlay renders with every kubectl here (Debian's 1.20, whose kustomize
 * v2.0.3 is the oldest the manifests are written for, and the one on the PATH), every object
 * passes the Kubernetes schemas, and the things a cluster would trip on hold: probe paths, the
 * advertised pod IP, secrets that exist, GPUs only where asked, three control planes under a
 * budget that selects them. No API server runs here: nothing is applied.
 */
import { describe, expect, test } from 'vitest';
import { findKubectls, overlays, podSpec, renderOverlay, validateObject, type Container, type KubeObject } from './support/kubernetes.js';

const kubectls = findKubectls();
const hasDebian120 = kubectls.some((kubectl) => kubectl.version.startsWith('v1.20.'));

function skipWithoutKubectl(): boolean {
  if (hasDebian120) return false;
  const message =
    kubectls.length === 0
      ? "no kubectl found: the Kubernetes manifest tests are skipped (deploy/kubernetes/debian-kubectl.sh unpacks Debian's)"
      : `only ${kubectls.map((kubectl) => kubectl.version).join(', ')} found, not Debian's kubectl 1.20 (deploy/kubernetes/debian-kubectl.sh)`;
  if (process.env.CI === 'true') throw new Error(`${message}. Under CI=true this is a failure.`);
  console.warn(message);
  return kubectls.length === 0;
}
const skip = skipWithoutKubectl();

const named = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render`);
  return found;
};
/** kustomize appends a content hash to generated names: nimbus-bootstrap-4f9f5k278g. */
const generated = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.filter((object) => object.kind === kind && new RegExp(`^${name}-[a-z0-9]{10}$`).test(object.metadata.name));
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!;
};
const containerOf = (workload: KubeObject, name: string): Container => {
  const container = podSpec(workload).containers.find((candidate) => candidate.name === name);
  if (!container) throw new Error(`${workload.metadata.name} has no container ${name}`);
  return container;
};
const envEntry = (container: Container, name: string) => container.env?.find((variable) => variable.name === name);
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

describe.skipIf(skip).each(kubectls.flatMap((kubectl) => overlays.map((overlay) => ({ kubectl, overlay }))))(
  'overlay $overlay with kubectl $kubectl.version',
  ({ kubectl, overlay }) => {
    const objects = renderOverlay(kubectl, overlay);
    const controlPlane = named(objects, 'Deployment', 'nimbus-control-plane');
    const worker = named(objects, 'DaemonSet', 'nimbus-worker');
    const server = containerOf(controlPlane, 'nimbus');
    const agent = containerOf(worker, 'worker');

    test('every object passes its Kubernetes schema and lives in the nimbus namespace', async () => {
      expect(objects.map((object) => object.kind).sort()).toEqual(
        ['ConfigMap', 'DaemonSet', 'Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service'].sort(),
      );
      for (const object of objects) {
        await validateObject(object);
        if (object.kind !== 'Namespace') expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('nimbus');
      }
    });

    test('three control planes; the budget, the Service and the worker policy select the right pods', () => {
      const spec = controlPlane.spec as {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
      expect(spec.replicas).toBe(3);
      const labels = spec.template.metadata.labels;
      expect(matches(spec.selector.matchLabels, labels)).toBe(true);
      const budget = named(objects, 'PodDisruptionBudget', 'nimbus-control-plane').spec as {
        maxUnavailable: number;
        selector: { matchLabels: Record<string, string> };
      };
      // One of the two, never both (the API server refuses that).
      expect(budget.maxUnavailable).toBe(1);
      expect(budget).not.toHaveProperty('minAvailable');
      expect(budget.selector.matchLabels).toEqual(spec.selector.matchLabels);
      const service = named(objects, 'Service', 'nimbus').spec as { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> };
      expect(matches(service.selector, labels)).toBe(true);
      expect(server.ports?.map((port) => port.name)).toContain(service.ports[0]!.targetPort);
      const workerLabels = (worker.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(matches(service.selector, workerLabels)).toBe(false);
      const policy = named(objects, 'NetworkPolicy', 'nimbus-worker').spec as {
        podSelector: { matchLabels: Record<string, string> };
        ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>;
      };
      expect(matches(policy.podSelector.matchLabels, workerLabels)).toBe(true);
      expect(matches(policy.ingress[0]!.from[0]!.podSelector.matchLabels, labels)).toBe(true);
      expect(policy.ingress[0]!.ports[0]!.port).toBe(agent.ports![0]!.containerPort);
    });

    test('probes: startup and liveness on /healthz, readiness on /readyz, on ports the containers open', () => {
      const portNames = (container: Container) => new Set(container.ports?.map((port) => port.name));
      for (const container of [server, agent]) {
        for (const probe of [container.startupProbe, container.livenessProbe]) expect(probe?.httpGet?.path).toBe('/healthz');
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      }
      for (const container of [server, agent])
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
          expect(portNames(container).has(String(probe?.httpGet?.port))).toBe(true);
    });

    test('a worker advertises its pod IP: it binds $(POD_IP), from status.podIP, and joins with the token from the Secret', () => {
      expect(envEntry(agent, 'POD_IP')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
      const args = agent.args ?? [];
      expect(args[0]).toBe('worker');
      expect(args[args.indexOf('--host') + 1]).toBe('$(POD_IP)');
      expect(Number(args[args.indexOf('--port') + 1])).toBe(agent.ports![0]!.containerPort);
      // The kubelet expands $(VAR) only from variables defined for the container.
      const defined = new Set(agent.env?.map((variable) => variable.name));
      for (const arg of args) for (const [, name] of arg.matchAll(/\$\((\w+)\)/g)) expect(defined.has(name!), `${arg} needs env ${name}`).toBe(true);
      // In env, $(VAR) is expanded only from variables listed before it.
      for (const container of [server, agent]) {
        const before = new Set<string>();
        for (const variable of container.env ?? []) {
          for (const [, name] of (variable.value ?? '').matchAll(/\$\((\w+)\)/g))
            expect(before.has(name!), `${variable.name} uses ${name} before it is defined`).toBe(true);
          before.add(variable.name);
        }
      }
      expect(envEntry(agent, 'NIMBUS_JOIN_URL')?.value).toMatch(/^http:\/\/nimbus:8080$/);
      const joinToken = envEntry(agent, 'NIMBUS_JOIN_TOKEN')?.valueFrom?.secretKeyRef;
      expect(joinToken).toEqual(envEntry(server, 'NIMBUS_JOIN_TOKEN')?.valueFrom?.secretKeyRef);
      expect(envEntry(server, 'NIMBUS_ADMIN_KEY')?.valueFrom?.secretKeyRef?.key).toBe('admin-key');
    });

    test('every Secret and ConfigMap a container reads exists with the key it reads', () => {
      const bootstrap = generated(objects, 'Secret', 'nimbus-bootstrap');
      const external = generated(objects, 'Secret', 'nimbus-external');
      generated(objects, 'ConfigMap', 'nimbus-config');
      expect(Object.keys(external.data ?? {}).sort()).toEqual(['NIMBUS_DATABASE_URL', 'NIMBUS_MQTT_URL', 'NIMBUS_REDIS_URL']);
      expect(Object.keys(bootstrap.data ?? {}).sort()).toEqual(['admin-key', 'join-token']);
      const byName = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata.name === name);
      let references = 0;
      for (const container of [server, agent]) {
        for (const source of container.envFrom ?? []) {
          const [kind, reference] = source.secretRef ? ['Secret', source.secretRef] : ['ConfigMap', source.configMapRef!];
          expect(byName(kind, reference.name), `${container.name} envFrom ${kind} ${reference.name}`).toBeDefined();
          references += 1;
        }
        for (const variable of container.env ?? []) {
          const reference = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef;
          if (!reference) continue;
          const kind = variable.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap';
          expect(
            byName(kind, reference.name!)?.data?.[reference.key!],
            `${container.name} ${variable.name} from ${reference.name}/${reference.key}`,
          ).toBeDefined();
          references += 1;
        }
      }
      expect(references).toBeGreaterThanOrEqual(6);
    });

    test('non-root, no privilege escalation, read-only root with a writable /tmp, resources on every container', () => {
      for (const workload of [controlPlane, worker]) {
        const pod = podSpec(workload) as { securityContext: Record<string, unknown>; containers: Container[] };
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
        for (const container of pod.containers) {
          expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          expect(container.volumeMounts?.map((mount) => mount.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/var/lib/nimbus']));
          expect(container.resources?.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
          expect(container.resources?.limits?.memory).toBeDefined();
        }
      }
    });

    test('Prometheus scrape annotations name a port the pod opens', () => {
      for (const workload of [controlPlane, worker]) {
        const annotations = (workload.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
        expect(annotations['prometheus.io/scrape']).toBe('true');
        expect(annotations['prometheus.io/path']).toBe('/metrics');
        expect(podSpec(workload).containers[0]!.ports?.map((port) => String(port.containerPort))).toContain(annotations['prometheus.io/port']);
      }
    });

    test(overlay === 'nvidia' ? 'workers ask for a GPU, run the cuda image on GPU nodes; control planes ask for none' : 'no GPU is requested anywhere', () => {
      const gpu = (container: Container) => [container.resources?.requests?.['nvidia.com/gpu'], container.resources?.limits?.['nvidia.com/gpu']];
      expect(gpu(server)).toEqual([undefined, undefined]);
      expect(server.image).toBe('nimbus:cpu');
      if (overlay === 'cpu') {
        expect(JSON.stringify(objects)).not.toContain('nvidia.com/gpu');
        expect(agent.image).toBe('nimbus:cpu');
        expect(envEntry(agent, 'NIMBUS_WORKER_GPU')?.value).toBe('cpu');
        return;
      }
      expect(gpu(agent)).toEqual([1, 1]);
      expect(agent.image).toBe('nimbus:cuda');
      expect(envEntry(agent, 'NIMBUS_WORKER_GPU')?.value).toBe('cuda');
      const pod = podSpec(worker) as { nodeSelector?: Record<string, string>; tolerations?: Array<{ key: string }> };
      expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
      expect(pod.tolerations?.map((toleration) => toleration.key)).toContain('nvidia.com/gpu');
    });
  },
);

describe.skipIf(skip)('manifests across kubectl versions', () => {
  test.skipIf(kubectls.length < 2)('every kubectl renders the same objects (generated names and env order aside)', () => {
    // kustomize v2.0.3 puts the env entries a patch adds first, later ones after the base's:
    // the order only matters for $(VAR) references, which the overlay tests check in each render.
    const normalized = (objects: KubeObject[]) =>
      objects
        .map((object) => JSON.parse(JSON.stringify(object).replace(/(nimbus-(?:bootstrap|external|config))-[a-z0-9]{10}/g, '$1')) as KubeObject)
        .map((object) => {
          if (object.kind === 'Deployment' || object.kind === 'DaemonSet')
            for (const container of podSpec(object).containers) container.env?.sort((a, b) => a.name.localeCompare(b.name));
          return object;
        })
        .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    for (const overlay of overlays) {
      const [first, ...others] = kubectls.map((kubectl) => normalized(renderOverlay(kubectl, overlay)));
      for (const other of others) expect(other).toEqual(first);
    }
  });

  test('the schema check refuses what a cluster would refuse', async () => {
    const objects = renderOverlay(kubectls[0]!, 'cpu');
    const deployment = structuredClone(objects.find((object) => object.kind === 'Deployment')!);
    (podSpec(deployment).containers[0]!.ports![0] as { containerPort: unknown }).containerPort = 'http';
    await expect(validateObject(deployment)).rejects.toThrow(/containerPort must be integer/);
    const budget = structuredClone(objects.find((object) => object.kind === 'PodDisruptionBudget')!);
    delete (budget as { spec?: unknown }).spec;
    budget.metadata = {} as KubeObject['metadata'];
    await expect(validateObject({ ...budget, kind: 'Service', apiVersion: 'v1', spec: { ports: [{ port: 'x' }] } })).rejects.toThrow();
  });
});
