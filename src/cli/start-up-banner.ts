/**
 * What `nimbus serve` prints when it starts, whatever the log level: where it listens, where the
 * console is, what will serve and why devices or models are off, in plain words. The first line
 * stays `Nimbus listening on URL`, which scripts wait for.
 */
import type { StartUpFacts } from '../main.js';

/** The banner's lines. */
export function startUpBanner(facts: StartUpFacts): string[] {
  const lines = [`Nimbus listening on ${facts.url} (${facts.exposure})`];
  lines.push(
    facts.consoleBuilt
      ? `  console:  ${facts.url}/ (open it in a browser)`
      : `  console:  not built; run 'npm run build' and start again (the API works without it)`,
  );
  lines.push(`  API:      ${facts.url}/v1 (any OpenAI client)`);
  const serving: string[] = [];
  if (facts.defaultModel)
    serving.push(`the default model ${facts.localModels.join(', ')}, as no model is configured (downloaded from ${facts.defaultModel} unless cached)`);
  else if (facts.localModels.length > 0) serving.push(`${facts.localModels.join(', ')} in this process`);
  if (facts.upstreamModels.length > 0) serving.push(`${facts.upstreamModels.join(', ')} from upstreams`);
  if (facts.deployments.length > 0) serving.push(`${facts.deployments.join(', ')} from the pool's workers`);
  lines.push(
    serving.length > 0
      ? `  models:   loading ${serving.join('; ')}; GET /readyz says when they are ready`
      : `  models:   none configured; pull one with 'nimbus pull hf:OWNER/REPO/FILE.gguf', then serve it with --model`,
  );
  lines.push('broker' in facts.devices ? `  devices:  on, MQTT broker ${facts.devices.broker}` : `  devices:  ${facts.devices.off}`);
  return lines;
}

/** The line once models have settled: what serves, or why nothing does and what to do. */
export function modelsSettledLine(ready: string[], notReadyReason: string | undefined): string {
  if (ready.length > 0) return `Serving ${ready.join(', ')}.`;
  return `No model serves yet. ${notReadyReason ?? ''}`.trim();
}
