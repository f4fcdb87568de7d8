import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SchedkitError } from '../src/errors/schedkit-error.js';
import type { Command, Io } from './command.js';
import { dashboardCommand } from './dashboard-command.js';
import { jobsCommands } from './jobs-commands.js';
import { runsCommands } from './runs-commands.js';
import { setupCommands } from './setup-commands.js';
import { UsageError } from './usage.js';

/**
 * The `schedkit` command line: finds the command named by the first words,
 * parses its options with `node:util`'s `parseArgs` (strict: an unknown
 * option is a usage error), runs it, and maps what happened to an exit code:
 * 0 done, 1 an error (a `SchedkitError` prints its code), 2 a usage error.
 */

export const COMMANDS: readonly Command[] = [...jobsCommands, ...runsCommands, ...setupCommands, dashboardCommand];

type OptionSpec = Command['options'][string];

const SHARED: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print JSON instead of a table' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
};
const STORE: Record<string, OptionSpec> = {
  redis: { type: 'string', help: 'Redis URL (or SCHEDKIT_REDIS_URL)', value: 'URL' },
  postgres: { type: 'string', help: 'PostgreSQL connection string (or SCHEDKIT_POSTGRES_URL)', value: 'URL' },
  prefix: { type: 'string', help: 'the Redis namespace the workers use (default schedkit)', value: 'PREFIX' },
  schema: { type: 'string', help: 'the PostgreSQL schema the workers use (default schedkit)', value: 'SCHEMA' },
};

/** Runs the command line `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  // The command's words come first (`schedkit jobs list --redis URL`).
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  const command = COMMANDS.find((c) => c.words.every((w, i) => words[i] === w));
  if (command === undefined) {
    const group = COMMANDS.filter((c) => c.words[0] === words[0] && c.words.length > 1);
    const asked = argv.includes('--help') || argv.includes('-h') || argv[0] === 'help';
    if (group.length > 0) {
      if (!asked && words.length > 1) io.stderr.write(`schedkit: unknown command "${words.join(' ')}"\n`);
      (asked ? io.stdout : io.stderr).write(overview(group, `schedkit ${words[0]} <command>`));
      return asked ? 0 : 2;
    }
    if (asked || argv.length === 0) {
      (asked ? io.stdout : io.stderr).write(overview(COMMANDS, 'schedkit <command>'));
      return asked ? 0 : 2;
    }
    io.stderr.write(`schedkit: unknown command "${words.join(' ')}"\nRun 'schedkit --help' for the commands.\n`);
    return 2;
  }
  const name = command.words.join(' ');
  try {
    const options = { ...SHARED, ...(command.usesStore ? STORE : {}), ...command.options };
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...argv], options: options as ParseArgsConfig['options'], allowPositionals: true, strict: true }) as typeof parsed;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (parsed.values.help === true) {
      io.stdout.write(help(command, options));
      return 0;
    }
    const args = parsed.positionals.slice(command.words.length);
    const required = command.args.filter((a) => a.startsWith('<')).length;
    if (args.length < required || args.length > command.args.length) {
      throw new UsageError(`${name} takes ${command.args.length === 0 ? 'no arguments' : command.args.join(' ')}, got ${args.length === 0 ? 'none' : args.map((a) => JSON.stringify(a)).join(' ')}`);
    }
    return await command.run({ args, values: parsed.values, io });
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`schedkit ${name}: ${error.message}\nRun 'schedkit ${name} --help' for its arguments and options.\n`);
      return 2;
    }
    if (SchedkitError.is(error)) io.stderr.write(`schedkit ${name}: ${error.code}: ${error.message}\n`);
    else io.stderr.write(`schedkit ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function overview(commands: readonly Command[], usage: string): string {
  const width = Math.max(...commands.map((c) => [...c.words, ...c.args].join(' ').length));
  const lines = commands.map((c) => `  ${[...c.words, ...c.args].join(' ').padEnd(width)}  ${c.summary}`);
  return [
    `Usage: ${usage} [options]`,
    '',
    'Commands:',
    ...lines,
    '',
    "Each takes --help. Store: --redis URL [--prefix P] or --postgres URL [--schema S] (or SCHEDKIT_REDIS_URL / SCHEDKIT_POSTGRES_URL).",
    'Exit codes: 0 done, 1 error, 2 usage error.',
    '',
  ].join('\n');
}

function help(command: Command, options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([key, o]) => [`${o.short === undefined ? '    ' : `-${o.short}, `}--${key}${o.value === undefined ? '' : ` ${o.value}`}`, o.help] as const);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `Usage: schedkit ${[...command.words, ...command.args].join(' ')} [options]`,
    '',
    command.summary[0]!.toUpperCase() + command.summary.slice(1) + '.',
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    '',
    'Exit codes: 0 done, 1 error, 2 usage error.',
    '',
  ].join('\n');
}
