/** Apps and their versions in the API's shapes (snake_case, times in unix seconds). */
import { appPrefix } from '../../apps/app-model.js';
import type { AppRecord, AppVersion } from '../../core/app-store.js';

const seconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);

/** An app: its live version's config, and the function tools a client must be ready to run. */
export function appView(app: AppRecord): object {
  return {
    object: 'app',
    name: app.name,
    model: `${appPrefix}${app.name}`,
    live_version: app.liveVersion,
    latest_version: app.latestVersion,
    created_at: seconds(app.createdAt),
    updated_at: seconds(app.updatedAt),
    description: app.config.description ?? null,
    tools: app.config.tools ?? [],
    config: app.config,
  };
}

export function versionView(version: AppVersion, liveVersion: number): object {
  return {
    object: 'app.version',
    app: version.app,
    version: version.version,
    live: version.version === liveVersion,
    created_at: seconds(version.createdAt),
    config: version.config,
  };
}
