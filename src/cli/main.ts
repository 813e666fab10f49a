#!/usr/bin/env node
/** The `nimbus` command: one file per subcommand, dispatched here. */
import { approvalsCommand } from './approvals.js';
import { auditCommand } from './audit.js';
import { deployCommand } from './deploy.js';
import { deploymentsCommand } from './deployments.js';
import { devicesCommand } from './devices.js';
import { estopCommand } from './estop.js';
import { keysCommand } from './keys.js';
import { modelsCommand } from './models.js';
import { pullCommand } from './pull.js';
import { serveCommand } from './serve.js';
import { simCommand } from './sim.js';
import { installTerminalSafeConsole } from './terminal-text.js';
import { tenantsCommand } from './tenants.js';
import { usageCommand } from './usage.js';
import { workerCommand } from './worker.js';
import { workersCommand } from './workers.js';

const usage = `Nimbus: an open AI cloud you run yourself.

Usage: nimbus COMMAND [options]

Commands:
  serve        run the OpenAI-compatible server (default: 127.0.0.1:8080)
  pull REF     download a model into the cache (hf:owner/repo/file.gguf)
  models       list cached models; 'models rm REF' removes one
  tenants      list, create and change tenants (admin API)
  keys         create, list, update and revoke API keys (admin API)
  usage        tokens, compute-seconds and cost by model, key, day (admin API)
  devices      devices, twins, history, commands; set properties, invoke actions
  approvals    list, grant and deny human approvals of risky device commands (admin API)
  estop        the tenant's emergency stop: status, on, off
  audit        the audit log of device actions (admin API)
  worker       join a control plane's pool: --join URL --token TOKEN
  workers      the pool's workers; 'workers token' makes a join token; 'workers drain NAME', 'workers rm NAME'
  deploy MODEL serve a model from the pool: --replicas N --device --ctx --slots --routing
  deployments  list, rm, scale and explain pool deployments
  sim          run virtual devices (lamp, thermostat, lock, conveyor, robot)
  version      print the version

Run 'nimbus COMMAND --help' for a command's options.`;

type Command = (argv: string[], environment: NodeJS.ProcessEnv) => Promise<number>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  pull: pullCommand,
  models: modelsCommand,
  tenants: tenantsCommand,
  keys: keysCommand,
  usage: usageCommand,
  devices: devicesCommand,
  approvals: approvalsCommand,
  estop: estopCommand,
  audit: auditCommand,
  worker: workerCommand,
  workers: workersCommand,
  deploy: deployCommand,
  deployments: deploymentsCommand,
  sim: (argv, environment) => simCommand(argv, environment),
  version: async () => {
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
  const command = commands[name];
  if (!command) {
    console.error(`error: unknown command '${name}'.\n\n${usage}`);
    return 2;
  }
  return command(rest, process.env);
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
