/** Apps and their versions in the API's shapes (snake_case, times in unix seconds). */
import { appPrefix } from '../../apps/app-model.js';
import type { AppRecord, AppVersion } from '../../core/app-store.js';
import { postCheckNamed } from '../../templates/post-checks.js';

const seconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);

/** An app: its live version's config, the function tools a client must be ready to run, and its post-check. */
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
    post_check: postCheckView(app.config.post_check),
    config: app.config,
  };
}

/** The app's post-check as clients must know it: every answer is held for it, so none streams token by token. */
function postCheckView(name: string | undefined): object | null {
  if (name === undefined) return null;
  return {
    name,
    description: postCheckNamed(name)?.description ?? null,
    buffered: true,
    note: 'Every answer is checked whole before it is sent: a stream gets the checked text in one piece at the end, not token by token.',
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
