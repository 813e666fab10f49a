/**
 * deploy/kubernetes for the tests: render an overlay with each kubectl this machine has, check
 * objects against the Kubernetes schemas (kubernetes-models), and turn a container spec into the
 * environment and arguments the kubelet would give it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from './shared-model.js';

export const kubernetesDirectory = join(repoRoot, 'deploy', 'kubernetes');
export const overlays = ['cpu', 'nvidia'] as const;

/**
 * Debian's kubectl 1.20 (kustomize v2.0.3: the oldest the manifests are written for), unpacked
 * by deploy/kubernetes/debian-kubectl.sh where /usr/bin/kubectl is another package's.
 */
export const debianKubectlPaths = [process.env.NIMBUS_KUBECTL_1_20, '/opt/kubernetes-client/usr/bin/kubectl', '/usr/bin/kubectl'];

export interface Kubectl {
  path: string;
  /** "v1.20.2", "v1.32.4-dispatcher", ... */
  version: string;
}

function versionOf(path: string): string | undefined {
  try {
    const text = execFileSync(path, ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(text) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  } catch {
    return undefined;
  }
}

/** Every distinct kubectl found: Debian's 1.20 where unpacked, and the one on the PATH. */
export function findKubectls(): Kubectl[] {
  const candidates = [...debianKubectlPaths, process.env.NIMBUS_KUBECTL];
  try {
    candidates.push(execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim());
  } catch {
    // none on the PATH
  }
  const found = new Map<string, Kubectl>();
  for (const path of candidates) {
    if (!path || !existsSync(path)) continue;
    const version = versionOf(path);
    if (version && !found.has(version)) found.set(version, { path, version });
  }
  return [...found.values()];
}

/** A Kubernetes object as rendered: only the fields the checks read are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

/** `kubectl kustomize deploy/kubernetes/overlays/NAME`, parsed. Throws with kubectl's stderr. */
export function renderOverlay(kubectl: Kubectl, overlay: string): KubeObject[] {
  const text = execFileSync(kubectl.path, ['kustomize', join(kubernetesDirectory, 'overlays', overlay)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const objects = parseAllDocuments(text)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
  // kustomize 5 folds long base64 values over lines; the API server's decoder skips the line
  // breaks (Go's base64 does), so they are dropped here as it would.
  for (const object of objects)
    if (object.kind === 'Secret' && object.data) for (const [key, value] of Object.entries(object.data)) object.data[key] = value.replace(/[\r\n]/g, '');
  return objects;
}

type Validatable = new (data: unknown) => { validate(): void };

/** Checks an object against its kind's schema (types, required fields, enums); throws with the path at fault. */
export async function validateObject(object: KubeObject): Promise<void> {
  const module = `kubernetes-models/${object.apiVersion}`;
  const models = (await import(module)) as Record<string, Validatable | undefined>;
  const Model = models[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.kind} in ${object.apiVersion}`);
  new Model(object).validate();
}

/** One container of a pod template. */
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

/** The pod template of a Deployment or DaemonSet. */
export function podSpec(workload: KubeObject): { containers: Container[]; [field: string]: unknown } {
  const template = (workload.spec as { template: { spec: { containers: Container[] } } }).template;
  return template.spec;
}

/** What the kubelet's environment for a container is made of, by the names the manifests use. */
export interface EnvironmentSources {
  /** Secret name (without kustomize's hash suffix) -> key -> value. */
  secrets: Record<string, Record<string, string>>;
  configMaps: Record<string, Record<string, string>>;
  /** Downward API: fieldPath -> value (status.podIP, spec.nodeName, metadata.name). */
  fields: Record<string, string>;
}

/** The container's environment as the kubelet builds it: envFrom first, then env in order, $(VAR) expanded. */
export function containerEnvironment(container: Container, sources: EnvironmentSources): Record<string, string> {
  const environment: Record<string, string> = {};
  const pick = (table: Record<string, Record<string, string>>, name: string, kind: string): Record<string, string> => {
    const found = table[name];
    if (!found) throw new Error(`container ${container.name} reads ${kind} '${name}', which the test was given no values for`);
    return found;
  };
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(environment, pick(sources.configMaps, source.configMapRef.name, 'ConfigMap'));
    if (source.secretRef) Object.assign(environment, pick(sources.secrets, source.secretRef.name, 'Secret'));
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (variable.value !== undefined) value = expand(variable.value, environment);
    else if (from?.secretKeyRef) value = pick(sources.secrets, from.secretKeyRef.name!, 'Secret')[from.secretKeyRef.key!];
    else if (from?.configMapKeyRef) value = pick(sources.configMaps, from.configMapKeyRef.name!, 'ConfigMap')[from.configMapKeyRef.key!];
    else if (from?.fieldRef) value = sources.fields[from.fieldRef.fieldPath!];
    if (value === undefined) throw new Error(`container ${container.name}: env ${variable.name} has no value from ${JSON.stringify(from)}`);
    environment[variable.name] = value;
  }
  return environment;
}

/** Kubernetes' $(VAR) expansion: a defined variable is replaced, anything else is left as written. */
export function expand(text: string, environment: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => environment[name] ?? whole);
}

/** A file of deploy/kubernetes/base, parsed (a workload, before any overlay). */
export function readBaseObject(file: string): KubeObject {
  return parse(readFileSync(join(kubernetesDirectory, 'base', file), 'utf8')) as KubeObject;
}

/** The literals of a generator in base/kustomization.yaml, as key -> value. */
export function baseGeneratorLiterals(kind: 'configMapGenerator' | 'secretGenerator', name: string): Record<string, string> {
  const kustomization = parse(readFileSync(join(kubernetesDirectory, 'base', 'kustomization.yaml'), 'utf8')) as Record<
    string,
    Array<{ name: string; literals?: string[] }>
  >;
  const generator = kustomization[kind]?.find((entry) => entry.name === name);
  if (!generator) throw new Error(`base/kustomization.yaml has no ${kind} named ${name}`);
  return Object.fromEntries((generator.literals ?? []).map((literal) => [literal.slice(0, literal.indexOf('=')), literal.slice(literal.indexOf('=') + 1)]));
}
