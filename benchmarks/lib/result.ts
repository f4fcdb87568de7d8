import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where suites write their JSON (and the report its Markdown and SVG). */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** A correctness check inside a benchmark: a failing one fails the run (never a timing). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A target from the issue, stated as met or not, with the measured ratio or value. */
export interface Target {
  name: string;
  /** What is asked, e.g. `<= 1.5x setTimeout`. */
  target: string;
  /** What was measured, e.g. `1.12x (p99 2.1 ms vs 1.9 ms)`. */
  measured: string;
  met: boolean;
}

/** One table of a suite: column names and rows of printable cells. */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

/** A suite's result file. Its commit, dirty flag and command (Provenance) stand at the top level; results written before they were recorded lack them. */
export interface SuiteResult extends Partial<Provenance> {
  suite: string;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  machine: Machine;
  tables: Table[];
  checks: Check[];
  targets: Target[];
  /** Raw numbers for the report (charts) and for later comparison. */
  data: Record<string, unknown>;
}

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  redis: string;
}

/** Which code a result was measured on, and the command that measured it. */
export interface Provenance {
  /** `git rev-parse HEAD`, or 'unknown' outside a git checkout. */
  commit: string;
  /** True when src/, modules/ or benchmarks/ (or test/soak/ for the soak) had uncommitted changes: the commit alone does not name the code measured. */
  dirty: boolean;
  /** The command as typed: the program (node, tsx) dropped, paths relative to the repository. */
  command: string;
  /**
   * Which schedkit the run imported: `dist` (the built package, as users run
   * it: `npm run bench` builds first and points `schedkit` at dist/ through
   * benchmarks/tsconfig.dist.json) or `source` (the TypeScript sources
   * through tsx, whose esbuild transform wraps every closure it creates in a
   * naming call: slower on the fire path than what users run).
   */
  build: 'dist' | 'source';
}

/** benchmarks/tsconfig.dist.json (maps `schedkit` to dist/) is what tsx reads when the run measures the built package. */
export function measuredBuild(): 'dist' | 'source' {
  return process.env.TSX_TSCONFIG_PATH?.endsWith('tsconfig.dist.json') === true ? 'dist' : 'source';
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Paths whose uncommitted changes make a measurement "dirty" (results/ excluded: it is the output). */
const MEASURED_PATHS = ['src', 'modules', 'benchmarks', 'test/soak', 'test/helpers', ':(exclude)benchmarks/results'];

/** The commit, whether the measured code differs from it, and the command line (`argv`, `process.argv.slice(1)` by default). */
export function provenance(argv: readonly string[] = process.argv.slice(1)): Provenance {
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', ...MEASURED_PATHS], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    dirty = status.trim().length > 0;
  } catch {
    // not a git checkout (a tarball): the commit stays unknown
  }
  const words = argv.map((arg) => (arg.startsWith(REPO_ROOT) ? arg.slice(REPO_ROOT.length) : arg));
  const direct = `${words[0]?.endsWith('.ts') === true ? 'tsx ' : ''}${words.join(' ')}`;
  // Started through npm (`npm run bench:quick -- --suite=fire`): name the script too.
  const script = process.env.npm_command === 'run-script' ? process.env.npm_lifecycle_event : undefined;
  return { commit, dirty, command: script === undefined ? direct : `npm run ${script} (${direct})`, build: measuredBuild() };
}

/** "commit abc1234 (uncommitted changes)" / "commit unknown". */
export function commitText(p: Partial<Provenance> | undefined): string {
  if (p?.commit === undefined || p.commit === 'unknown') return 'commit unknown';
  return `commit ${p.commit.slice(0, 7)}${p.dirty ? ' with uncommitted changes' : ''}`;
}

export function machine(): Machine {
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 3).join(' ');
  } catch {
    // not installed
  }
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    redis,
  };
}

/**
 * Writes `<suite>.json` (quick runs: `<suite>.quick.json`) under
 * benchmarks/results/, stamped with the commit, dirty flag and command of
 * `stamp` — taken when the run started, so an edit or a commit made while it
 * ran is not mistaken for the code it measured.
 */
export function writeResult(result: SuiteResult, stamp: Provenance = provenance()): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamped: SuiteResult = result.commit === undefined ? { ...stamp, ...result } : result;
  const file = `${RESULTS_DIR}${result.suite}${result.quick ? '.quick' : ''}.json`;
  writeFileSync(file, `${JSON.stringify(stamped, null, 2)}\n`);
  return file;
}

/** A Markdown table. */
export function markdownTable(table: Table): string {
  const head = `| ${table.columns.join(' | ')} |`;
  const rule = `|${table.columns.map(() => '---').join('|')}|`;
  const body = table.rows.map((row) => `| ${row.map((cell) => String(cell)).join(' | ')} |`);
  return [`**${table.title}**`, '', head, rule, ...body].join('\n');
}

/** The whole suite as Markdown: tables, targets, checks. */
export function markdownSuite(result: SuiteResult): string {
  const parts = [`### ${result.suite}${result.quick ? ' (quick)' : ''}`, '', provenanceLine(result), ''];
  for (const table of result.tables) parts.push(markdownTable(table), '');
  if (result.targets.length > 0) {
    parts.push(
      markdownTable({
        title: 'Targets',
        columns: ['target', 'asked', 'measured', 'met'],
        rows: result.targets.map((t) => [t.name, t.target, t.measured, t.met ? 'yes' : '**no**']),
      }),
      '',
    );
  }
  if (result.checks.length > 0) {
    parts.push(
      markdownTable({
        title: 'Correctness checks',
        columns: ['check', 'result', 'detail'],
        rows: result.checks.map((c) => [c.name, c.ok ? 'pass' : '**FAIL**', c.detail]),
      }),
      '',
    );
  }
  return parts.join('\n');
}

/** One line naming what a result was measured on: commit, date, machine, command. */
export function provenanceLine(result: Pick<SuiteResult, 'startedAt' | 'machine' | 'commit' | 'dirty' | 'command' | 'build'>): string {
  const m = result.machine;
  const command = result.command === undefined ? 'command not recorded' : `\`${result.command}\``;
  const build = result.build === undefined ? '' : result.build === 'dist' ? ', schedkit as built (dist/)' : ', schedkit from its TypeScript sources (tsx)';
  return `_Measured on ${commitText(result)}${build}, ${result.startedAt}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.redis}; ${command}._`;
}
