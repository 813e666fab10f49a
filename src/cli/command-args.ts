/**
 * The arguments of one `nimbus` command, parsed the one way every command does: positionals
 * allowed, `--help`/`-h` on each, an unknown or malformed option a usage error (exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

/** What `parseArgs` gives for these options (with `help`) and positionals. */
export type CommandArgs<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; options: T & typeof helpOption }>
>;

/**
 * The command's arguments, or its exit code once it is done: 0 after `--help` printed `usage`,
 * what `usageError` returns after it was told what is wrong.
 */
export function commandArgs<const T extends ParseArgsOptionsConfig>(
  argv: string[],
  options: T,
  usage: string,
  usageError: (message: string) => number,
): CommandArgs<T> | number {
  type Config = { args: string[]; allowPositionals: true; options: T & typeof helpOption };
  let parsed: CommandArgs<T>;
  try {
    parsed = parseArgs<Config>({ args: argv, allowPositionals: true, options: { ...options, ...helpOption } });
  } catch (error) {
    return usageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return 0;
  }
  return parsed;
}
