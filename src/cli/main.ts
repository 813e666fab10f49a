#!/usr/bin/env node
/** The `nimbus` command: one file per subcommand, dispatched here. */
import { installTerminalSafeConsole } from './terminal-text.js';

const usage = `Nimbus: an open AI cloud you run yourself.

Usage: nimbus COMMAND [options]

Commands:
  serve        run the OpenAI-compatible server (default: 127.0.0.1:8080)
  pull REF     download a model into the cache (hf:owner/repo/file.gguf)
  models       list cached models; 'models rm REF' removes one
  tenants      list, create and change tenants (admin API)
  keys         create, list, update and revoke API keys (admin API)
  usage        tokens, compute-seconds and cost by model, key, day (admin API)
  files        upload, list, download and delete files
  batches      run a JSONL file of requests as a batch (--wait: a progress bar), list, cancel, output
  stores       vector stores: create, add files (with a progress bar), search, rm
  apps         apps: create (from a file or --template), list, show, publish, rollback, delete, apply FILE
  devices      devices, twins, history, commands; set properties, invoke actions
  approvals    list, grant and deny human approvals of risky device commands (admin API)
  estop        the tenant's emergency stop: status, on, off
  taints       keys and conversations shown untrusted device text; 'taints clear' (admin API)
  audit        the audit log of device actions (admin API)
  worker       join a control plane's pool: --join URL --token TOKEN
  workers      the pool's workers; 'workers token' makes a join token; 'workers drain NAME', 'workers rm NAME'
  deploy MODEL serve a model from the pool: --replicas N --device --ctx --slots --spare-slots --routing
  deployments  list, rm, scale and explain pool deployments
  sim          run virtual devices (lamp, thermostat, lock, conveyor, robot; --vehicle: a car)
  version      print the version

Run 'nimbus COMMAND --help' for a command's options.`;

type Command = (argv: string[], environment: NodeJS.ProcessEnv) => Promise<number>;

// Each command's module is imported only when it runs: `serve` and `worker` pull in the server,
// the stores and the MQTT broker (about 1 s of CPU to load); an admin command needs none of it,
// so `nimbus devices` starts in a fifth of the time.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serveCommand,
  pull: async () => (await import('./pull.js')).pullCommand,
  models: async () => (await import('./models.js')).modelsCommand,
  tenants: async () => (await import('./tenants.js')).tenantsCommand,
  keys: async () => (await import('./keys.js')).keysCommand,
  usage: async () => (await import('./usage.js')).usageCommand,
  files: async () => (await import('./files.js')).filesCommand,
  batches: async () => (await import('./batches.js')).batchesCommand,
  stores: async () => (await import('./stores.js')).storesCommand,
  apps: async () => (await import('./apps.js')).appsCommand,
  devices: async () => (await import('./devices.js')).devicesCommand,
  approvals: async () => (await import('./approvals.js')).approvalsCommand,
  estop: async () => (await import('./estop.js')).estopCommand,
  taints: async () => (await import('./taints.js')).taintsCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
  worker: async () => (await import('./worker.js')).workerCommand,
  workers: async () => (await import('./workers.js')).workersCommand,
  deploy: async () => (await import('./deploy.js')).deployCommand,
  deployments: async () => (await import('./deployments.js')).deploymentsCommand,
  sim: async () => (await import('./sim.js')).simCommand,
  version: async () => async () => {
    const { createRequire } = await import('node:module');
    console.log((createRequire(import.meta.url)('../../package.json') as { version: string }).version);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage);
    return name ? 0 : 1;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    console.error(`error: unknown command '${name}'.\n\n${usage}`);
    return 2;
  }
  return (await load())(rest, process.env);
}

// Names and messages from a server must not drive the terminal (colours, cursor, title).
installTerminalSafeConsole();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  },
);
