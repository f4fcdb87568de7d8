import type { ParseArgsConfig } from 'node:util';

/** What a command prints to; tests pass their own. */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Resolves when a long-running command (`dashboard`) should stop. @default the first SIGINT or SIGTERM */
  stopped?: () => Promise<void>;
}

/** The parsed command line a command runs with. */
export interface Invocation {
  /** Positional arguments after the command's words (`jobs show <name>` → `[name]`). */
  args: string[];
  values: Record<string, string | boolean | undefined>;
  io: Io;
}

/** One command of the CLI: its words, its arguments and options, its help, and what it does. */
export interface Command {
  /** `['jobs', 'list']`. */
  words: string[];
  /** Positional arguments, for help and the count check: `<name>`, `[module]`. */
  args: string[];
  summary: string;
  /** Options beyond the shared ones, with the text help shows for each. */
  options: Record<string, NonNullable<ParseArgsConfig['options']>[string] & { help: string; value?: string }>;
  /** Whether it talks to a store (and so takes --redis/--postgres/--prefix/--schema). */
  usesStore: boolean;
  /** Resolves to the exit code. */
  run(invocation: Invocation): Promise<number>;
}

/** `--tenant ID`, which every command on one job or run takes. */
export const TENANT_OPTION = { type: 'string', help: "the job's tenant", value: 'ID' } as const;
