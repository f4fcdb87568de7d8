import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, loadStoredResults, performanceBlock, postgresBlock, renderReadme, soakBlock, type StoredResults } from '../../benchmarks/readme-figures.js';
import type { SuiteResult } from '../../benchmarks/lib/result.js';
import type { PgRow } from '../../benchmarks/suites/postgres/fleet.js';

// The README's measured figures ("Performance", the soak row of
// "Guarantees") are generated from benchmarks/results/*.json by
// benchmarks/readme-figures.ts; this keeps the text and the files in step.
const readme = readFileSync(README, 'utf8');
const stored = loadStoredResults();

/** The text between a block's markers. */
function block(text: string, name: string): string {
  const open = `<!-- figures:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(`<!-- /figures:${name} -->`);
  expect(start, `README.md has no ${open}`).toBeGreaterThanOrEqual(0);
  expect(end, `README.md has no closing marker for ${name}`).toBeGreaterThan(start);
  return text.slice(start + open.length, end);
}

describe('README figures', () => {
  it.each(['performance', 'postgres', 'soak'])('the %s block is what the stored result files render (else run `npx tsx benchmarks/readme-figures.ts`)', (name) => {
    expect(block(readme, name)).toBe(block(renderReadme(readme, stored), name));
  });

  it('renders nothing outside the blocks', () => {
    const outside = (text: string): string => text.replace(/<!-- figures:(\w+) -->[\s\S]*?<!-- \/figures:\1 -->/g, '<!-- figures -->');
    expect(outside(renderReadme(readme, stored))).toBe(outside(readme));
  });

  it('follows a changed figure: a result file that says otherwise changes the README', () => {
    const fire = structuredClone(stored.fire);
    expect(fire, 'benchmarks/results/fire-accuracy.json').toBeDefined();
    const rows = fire!.data.lateness as Array<{ contender: string; jobs: number; p99Ms: number }>;
    rows.find((r) => r.contender === 'schedkit-redis' && r.jobs === 1_000)!.p99Ms = 777;
    const changed: StoredResults = { ...stored, fire: fire! };
    expect(performanceBlock(changed)).toContain('| lateness p99 on Redis, one instance | 777 ms |');
    expect(block(renderReadme(readme, changed), 'performance')).not.toBe(block(readme, 'performance'));
  });

  it('names the commit a result was measured on, and "commit unknown" for results that did not record it', () => {
    const withCommit = structuredClone(stored.fire)!;
    Object.assign(withCommit, { commit: '0123456789abcdef0123456789abcdef01234567', dirty: true, command: 'npm run bench (tsx benchmarks/run.ts)' });
    expect(performanceBlock({ ...stored, fire: withCommit })).toContain('commit 0123456 with uncommitted changes at');
    const without = structuredClone(stored.fire)!;
    delete without.commit;
    delete without.dirty;
    delete without.command;
    expect(performanceBlock({ ...stored, fire: without })).toContain('commit unknown at');
  });

  it('says the soak was not measured rather than quoting figures without a result file', () => {
    expect(soakBlock({})).toBe("with the soak's own settings: not measured yet (no result file); with the scheduler's defaults: not measured yet (no result file)");
  });

  it('says PostgreSQL was not measured rather than quoting figures without a result file', () => {
    expect(postgresBlock({})).toBe('_PostgreSQL (`npm run bench -- --suite postgres`): not measured yet (no result file)._');
  });

  it('renders the PostgreSQL figures of a result file: every minute beside both peers, every second, the ratios and what did not complete', () => {
    const row = (system: PgRow['system'], every: PgRow['every'], jobs: number, instances: number, p99: number, cpuMs: number): PgRow => ({
      system,
      every,
      jobs,
      instances,
      windowStart: 0,
      windowMs: every === 'minute' ? 180_000 : 20_000,
      expected: jobs * 3,
      runsInWindow: jobs * 3,
      runsPerSec: 0,
      runsPerInstance: [jobs * 3],
      spread: 1,
      runsSeen: jobs * 3,
      lateness: { p50: p99 / 2, p99, max: p99 },
      lateOver1s: 0,
      lateOver60s: 0,
      duplicatesInWindow: 0,
      duplicatesTotal: 0,
      missed: 0,
      slotsWithMisses: 0,
      dbCpuMsPerRun: cpuMs,
      statementsPerRun: 2,
      statementsExecutedPerRun: 5,
      transactionsPerRun: 2,
      clientCpuMsPerRun: 0.1,
      events: {},
      eventsWhileStopping: {},
      startupMs: 1_000,
    });
    const result: SuiteResult = {
      suite: 'postgres',
      quick: false,
      startedAt: '2026-12-07T22:00:00.000Z',
      durationMs: 1,
      machine: { node: 'v20', cpu: 'cpu', cores: 2, memoryGiB: 24, redis: 'redis' },
      tables: [],
      checks: [],
      targets: [],
      commit: '0123456789abcdef0123456789abcdef01234567',
      dirty: false,
      data: {
        postgres: { version: 'PostgreSQL 15.0', statementSource: 'pg_stat_statements' },
        rows: [
          row('schedkit', 'minute', 1_000, 1, 40, 0.1),
          row('pg-boss', 'minute', 1_000, 1, 4_000, 0.4),
          row('graphile-worker', 'minute', 1_000, 1, 400, 0.2),
          row('schedkit', 'second', 1_000, 1, 50, 0.1),
          row('schedkit', 'second', 1_000, 2, 60, 0.1),
        ],
        errors: [{ phase: 'graphile-worker, 10000 jobs every minute', error: 'it crashed\nstack' }],
      },
    };
    const text = postgresBlock({ postgres: result });
    expect(text).toContain('measured on commit 0123456 at 2026-12-07 (postgres)');
    expect(text).toContain('| 1,000 jobs: lateness p50 / p99 | 20 / 40 ms | 2000 / 4000 ms | 200 / 400 ms |');
    expect(text).toContain('| 1,000 jobs: database CPU per run | 100 µs | 400 µs | 200 µs |');
    expect(text).toContain('1 / 2 instances: p99 50 / 60 ms');
    expect(text).toContain("1,000 jobs: lateness p99 0.10x graphile-worker's, database CPU per run 0.25x pg-boss's");
    expect(text).toContain('Phases that did not complete: graphile-worker, 10000 jobs every minute (it crashed).');
  });

  it('names the settings that differ from the defaults beside the figures they shape', () => {
    const text = performanceBlock(stored);
    expect(text).toContain('`maxConcurrent: 20000`; default 10');
    expect(text).toContain('`maxConcurrent: 100`, default 10');
  });
});
