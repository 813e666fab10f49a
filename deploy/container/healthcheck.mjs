#!/usr/bin/env node
// nimbus-healthcheck: the image's HEALTHCHECK (Docker and Podman run it; Kubernetes uses its own
// probes instead). Exits 0 when the server answers /healthz within 4 s, 1 otherwise.
// NIMBUS_HEALTHCHECK_URL overrides the address (a worker bound to its pod IP sets it).
const port = process.env.NIMBUS_PORT ?? '8080';
const url = process.env.NIMBUS_HEALTHCHECK_URL ?? `http://127.0.0.1:${port}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!response.ok) {
    console.error(`nimbus-healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`nimbus-healthcheck: ${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
