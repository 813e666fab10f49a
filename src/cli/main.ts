#!/usr/bin/env node
/** The `nimbus` command: one file per subcommand, dispatched here. */
import { modelsCommand } from './models.js';
import { pullCommand } from './pull.js';
import { serveCommand } from './serve.js';

const usage = `Nimbus: an open AI cloud you run yourself.

Usage: nimbus COMMAND [options]

Commands:
  serve        run the OpenAI-compatible server (default: 127.0.0.1:8080)
  pull REF     download a model into the cache (hf:owner/repo/file.gguf)
  models       list cached models; 'models rm REF' removes one
  version      print the version

Run 'nimbus COMMAND --help' for a command's options.`;

type Command = (argv: string[], environment: NodeJS.ProcessEnv) => Promise<number>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  pull: pullCommand,
  models: modelsCommand,
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  },
);
