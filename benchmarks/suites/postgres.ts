/**
 * SPEC §11.5 (issue 14): schedkit on PostgreSQL beside pg-boss schedules and
 * graphile-worker's crontab, in one run, on one private PostgreSQL server
 * (Debian's package, started by the suite on a loopback port). Every system
 * runs on its own fresh database of that server; phases run one after the
 * other, never two at once; each instance is its own process.
 *
 * - Every minute (what all three can do: pg-boss and graphile-worker are
 *   minute-granular): N = 1,000 and 10,000 jobs on `* * * * *`, one
 *   instance, a 3-minute window (3 slots) per system: lateness (handler
 *   start − slot), database CPU, statements and transactions per run,
 *   client CPU per run, duplicates, missed, what each logged.
 * - Every second (schedkit only: neither peer can): 1,000 jobs on
 *   `* * * * * *` shared by 1, 2 and 4 instance processes, scaled out step
 *   by step: the same figures per size, and the spread over instances.
 *
 * Database CPU is the server's (every process, from /proc), statements come
 * from pg_stat_statements, transactions from pg_stat_database
 * (suites/postgres/db-meter.ts). Quick mode is a bounded smoke of every
 * phase (50 jobs; every-minute phases start, run 2 s and stop: no whole
 * minute fits); it fails only on a schedkit duplicate or missed run.
 *
 * Full run: about 30 minutes, an estimate from its plan: six every-minute
 * phases of about 4 minutes (each waits for a minute boundary, measures 3
 * minutes, drains 25 s), the every-second fleet about 2 minutes, and
 * pg-boss's set-up of 10,000 queues (each a table partition, created one at
 * a time: about 25 ms each in quick runs, so about 4 minutes).
 */
import { machine, type Check, type SuiteResult } from '../lib/result.js';
import { startBenchPostgres, stopBenchPostgres, type BenchPostgres } from './postgres/db-meter.js';
import { PgFleet, type PgRow, type PhasePlan } from './postgres/fleet.js';
import { CONCURRENCY, PG_SYSTEMS, type PgSystem } from './postgres/protocol.js';
import { PEER_SETTINGS, postgresTables, postgresTargets } from './postgres/summary.js';

export interface Plan {
  second: PhasePlan;
  minute: PhasePlan[];
  /** Shown beside the every-minute figures when they are a smoke run. */
  minuteNote?: string;
}

const MINUTE_JOBS_FULL = [1_000, 10_000];

function plan(quick: boolean): Plan {
  if (quick) {
    return {
      second: { system: 'schedkit', every: 'second', jobs: 50, sizes: [1, 2, 4], concurrency: CONCURRENCY, warmupMs: 1_000, windowMs: 2_000, graceMs: 1_000 },
      minute: PG_SYSTEMS.map((system) => ({ system, every: 'minute', jobs: 50, sizes: [1], concurrency: CONCURRENCY, warmupMs: 0, windowMs: 0, graceMs: 0, smokeMs: 2_000 })),
      minuteNote:
        'quick mode: no whole minute fits, so each system registered 50 jobs on `* * * * *`, started, ran 2 s and stopped; runs seen (a slot passed, or a schedule fired on creation) are checked for duplicates, none is measured',
    };
  }
  return {
    // Instances learn of each other by heartbeat (every 2 s): 5 s of warm-up after each step sees the steady spread.
    second: { system: 'schedkit', every: 'second', jobs: 1_000, sizes: [1, 2, 4], concurrency: CONCURRENCY, warmupMs: 5_000, windowMs: 20_000, graceMs: 3_000 },
    minute: MINUTE_JOBS_FULL.flatMap((jobs) =>
      PG_SYSTEMS.map((system): PhasePlan => ({ system, every: 'minute', jobs, sizes: [1], concurrency: CONCURRENCY, warmupMs: 5_000, windowMs: 180_000, graceMs: 25_000 })),
    ),
  };
}

/** A phase that did not complete: what it was and why. */
export interface PhaseError {
  phase: string;
  system: PgSystem;
  error: string;
}

export async function run(options: { quick: boolean }): Promise<SuiteResult> {
  const startedAt = new Date();
  const began = performance.now();
  const p = plan(options.quick);
  const phases = [p.second, ...p.minute];
  const rows: PgRow[] = [];
  const errors: PhaseError[] = [];
  let db: BenchPostgres | undefined;
  const fleets = new Map<PhasePlan, PgFleet>();
  let loadedMs = 0;
  try {
    db = await startBenchPostgres();
    // Every process loads its modules up front, idle until its phase (loading costs CPU that would otherwise land in a window).
    for (const phase of phases) {
      const fleet = new PgFleet(phase, db);
      fleets.set(phase, fleet);
      try {
        await fleet.spawn();
      } catch (error) {
        errors.push({ phase: fleet.label, system: phase.system, error: errorText(error) });
      }
    }
    const loaded = new Map<PhasePlan, Promise<string | undefined>>();
    for (const [phase, fleet] of fleets) loaded.set(phase, fleet.loaded().then(() => undefined, (error: unknown) => errorText(error)));
    await Promise.all(loaded.values());
    loadedMs = Math.round(performance.now() - began);
    for (const phase of phases) {
      const fleet = fleets.get(phase)!;
      if (errors.some((e) => e.phase === fleet.label)) continue;
      const notLoaded = await loaded.get(phase)!;
      try {
        if (notLoaded !== undefined) throw new Error(notLoaded);
        rows.push(...(await fleet.run()));
      } catch (error) {
        errors.push({ phase: fleet.label, system: phase.system, error: errorText(error) });
      } finally {
        await fleet.close().catch((error: unknown) => errors.push({ phase: `${fleet.label}: cleanup`, system: phase.system, error: errorText(error) }));
      }
    }
  } finally {
    // One after the other: each drops its database through the one admin connection.
    for (const fleet of fleets.values()) await fleet.close().catch(() => undefined);
    await stopBenchPostgres(db);
  }

  const host = machine();
  return {
    suite: 'postgres',
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    machine: host,
    tables: postgresTables(p, rows, errors, db),
    checks: checks(p, rows, errors),
    targets: postgresTargets(rows, errors, options.quick),
    data: {
      postgres: db === undefined ? null : { version: db.version, statementSource: db.statementSource, settings: db.settings, testClusterSettings: 'fsync, synchronous_commit and full_page_writes off, shared_buffers 32MB (test/helpers/postgres-server.ts)' },
      concurrency: CONCURRENCY,
      peerSettings: PEER_SETTINGS,
      plan: p,
      rows,
      errors,
      /** When every process had loaded, ms after the suite started. */
      loadedMs,
    },
  };
}

/** Correctness, which fails the run: schedkit ran every phase, and ran no slot twice and missed none. Peers' figures are targets, shown, never failing. */
function checks(p: Plan, rows: PgRow[], errors: PhaseError[]): Check[] {
  const out: Check[] = [];
  for (const phase of [p.second, ...p.minute].filter((x) => x.system === 'schedkit')) {
    const label = `schedkit, ${phase.jobs} jobs every ${phase.every}`;
    const failed = errors.filter((e) => e.system === 'schedkit' && e.phase.startsWith(label));
    out.push({ name: `${label}: the phase ran`, ok: failed.length === 0, detail: failed.length === 0 ? 'completed' : failed.map((e) => e.error.split('\n')[0]).join('; ') });
  }
  for (const r of rows.filter((row) => row.system === 'schedkit')) {
    const label = `schedkit, ${r.jobs} jobs every ${r.every}, ${r.instances} instance(s)`;
    out.push(
      { name: `${label}: no duplicate run`, ok: r.duplicatesTotal === 0, detail: `${r.duplicatesTotal} duplicate (job, slot) runs over every slot of the step (${r.duplicatesInWindow} in the window)` },
      {
        name: `${label}: no missed slot`,
        ok: r.missed === 0,
        detail: r.windowMs === 0 ? `smoke run, no window (${r.runsSeen} runs seen)` : `${r.missed} of ${r.expected} (job, slot) pairs of the window never ran${r.missed > 0 ? ` (in ${r.slotsWithMisses} slots)` : ''}`,
      },
    );
  }
  return out;
}

/** The error's message, its first 3,000 characters: a process failure carries its last output lines. */
function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 3_000);
}
