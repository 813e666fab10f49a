/**
 * `nimbus apps`: apps on a server (issue 23). `list`, `show NAME`, `versions NAME`,
 * `create FILE` (or `create --template NAME`: apps-template.ts), `publish NAME FILE`,
 * `rollback NAME VERSION`, `delete NAME`, and `apply FILE [--prune] [--dry-run]`
 * (app-apply.ts). Files are YAML or JSON in the config format the README describes.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { adminClient, CommandError, commandFailure, type AdminClient } from './admin-client.js';
import { applyApps, configOf, readAppFile, reportLines } from './app-apply.js';
import { appsTemplateCommand } from './apps-template.js';
import { renderTable } from './render-table.js';

export const appsUsage = `Usage: nimbus apps [list] [--json]
       nimbus apps show NAME [--json]
       nimbus apps versions NAME
       nimbus apps create FILE            (or: create --template NAME [--name APP] [--model MODEL])
       nimbus apps templates
       nimbus apps publish NAME FILE
       nimbus apps rollback NAME VERSION
       nimbus apps delete NAME
       nimbus apps apply FILE [--prune] [--dry-run]

FILE is YAML or JSON: one app config with its name, a list of them, or {apps: [...]}. apply
creates what is missing, publishes a new version where the live config drifted from the file
(naming the fields), leaves the rest, and deletes apps the file does not name only with --prune.
Talks to NIMBUS_URL (default http://127.0.0.1:8080) with the key in NIMBUS_API_KEY.`;

interface AppView {
  name: string;
  model: string;
  live_version: number;
  latest_version: number;
  updated_at: number;
  description: string | null;
  tools: Array<{ name: string }>;
  config: Record<string, unknown> & { model: string | string[] };
}

interface VersionView {
  version: number;
  live: boolean;
  created_at: number;
  config: Record<string, unknown>;
}

const path = (name: string): string => `/v1/apps/${encodeURIComponent(name)}`;
const time = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);

function needs(value: string | undefined, what: string): string {
  if (!value) throw new CommandError(`give ${what}: 'nimbus apps --help' shows the usage`);
  return value;
}

/** The one app a file for create or publish holds. */
function oneApp(file: string): Record<string, unknown> & { name: string } {
  const apps = readAppFile(file);
  if (apps.length !== 1) throw new CommandError(`${file} holds ${apps.length} apps; create and publish take one (apply takes several).`);
  return apps[0]!;
}

async function run(client: AdminClient, action: string, args: readonly string[], flags: { json: boolean; prune: boolean; dryRun: boolean }): Promise<number> {
  switch (action) {
    case 'list': {
      const apps = (await client.json<{ data: AppView[] }>('GET', '/v1/apps')).data;
      if (flags.json) console.log(JSON.stringify(apps, null, 2));
      else if (apps.length === 0) console.log("no apps: 'nimbus apps create FILE' makes one");
      else {
        const models = (app: AppView): string => (Array.isArray(app.config.model) ? app.config.model.join(' > ') : app.config.model);
        console.log(
          renderTable([
            ['NAME', 'LIVE', 'LATEST', 'MODEL', 'UPDATED', 'DESCRIPTION'],
            ...apps.map((app) => [app.name, String(app.live_version), String(app.latest_version), models(app), time(app.updated_at), app.description ?? '']),
          ]),
        );
      }
      return 0;
    }
    case 'show': {
      const app = await client.json<AppView>('GET', path(needs(args[0], 'an app name')));
      if (flags.json) console.log(JSON.stringify(app, null, 2));
      else {
        console.log(`${app.name} (${app.model}): version ${app.live_version} live of ${app.latest_version}, updated ${time(app.updated_at)}`);
        console.log(stringify({ name: app.name, ...app.config }).trimEnd());
      }
      return 0;
    }
    case 'versions': {
      const versions = (await client.json<{ data: VersionView[] }>('GET', `${path(needs(args[0], 'an app name'))}/versions`)).data;
      console.log(
        renderTable([
          ['VERSION', 'LIVE', 'CREATED'],
          ...versions.map((version) => [String(version.version), version.live ? 'live' : '', time(version.created_at)]),
        ]),
      );
      return 0;
    }
    case 'create': {
      const app = oneApp(needs(args[0], 'a config file (YAML or JSON)'));
      const created = await client.json<AppView>('POST', '/v1/apps', app);
      console.log(`created app ${created.name} (${created.model}, version ${created.live_version})`);
      return 0;
    }
    case 'publish': {
      const name = needs(args[0], 'an app name');
      const app = oneApp(needs(args[1], 'a config file (YAML or JSON)'));
      if (app.name !== name) throw new CommandError(`the file describes the app '${app.name}', not '${name}'`);
      const version = await client.json<VersionView>('POST', `${path(name)}/versions`, configOf(app));
      console.log(`published ${name} version ${version.version} (live)`);
      return 0;
    }
    case 'rollback': {
      const name = needs(args[0], 'an app name');
      const version = Number(needs(args[1], 'the version to make live'));
      if (!Number.isInteger(version) || version < 1) throw new CommandError(`a version is a whole number from 1, not '${args[1]}'`);
      await client.json('POST', `${path(name)}/rollback`, { version });
      console.log(`${name}: version ${version} is live`);
      return 0;
    }
    case 'delete': {
      const name = needs(args[0], 'an app name');
      await client.json('DELETE', path(name));
      console.log(`deleted app ${name} (its versions and its end users' memory)`);
      return 0;
    }
    case 'apply': {
      const options = { prune: flags.prune, dryRun: flags.dryRun };
      const report = await applyApps(client, readAppFile(needs(args[0], 'a config file (YAML or JSON)')), options);
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else for (const line of reportLines(report, options)) console.log(line);
      return 0;
    }
    default:
      throw new CommandError(`unknown action '${action}': 'nimbus apps --help' shows the usage`);
  }
}

export async function appsCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  // Templates have their own handler (the templates' helper built it).
  if (argv[0] === 'templates' || (argv[0] === 'create' && argv.some((arg) => arg === '--template' || arg.startsWith('--template='))))
    return appsTemplateCommand(argv, environment);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, prune: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus apps --help' shows the usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(appsUsage);
    return 0;
  }
  const [action = 'list', ...args] = positionals;
  try {
    return await run(adminClient(environment), action === 'ls' ? 'list' : action, args, {
      json: Boolean(values.json),
      prune: Boolean(values.prune),
      dryRun: Boolean(values['dry-run']),
    });
  } catch (error) {
    return commandFailure(error);
  }
}
