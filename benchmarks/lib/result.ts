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

export interface SuiteResult {
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

/** Writes `<suite>.json` (quick runs: `<suite>.quick.json`) under benchmarks/results/. */
export function writeResult(result: SuiteResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${result.suite}${result.quick ? '.quick' : ''}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
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
  const parts = [`### ${result.suite}${result.quick ? ' (quick)' : ''}`, ''];
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
