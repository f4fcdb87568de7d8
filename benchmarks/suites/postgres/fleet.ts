/**
 * One phase of the postgres suite: one system, on its own fresh database of
 * the suite's server, with 1 or more instance processes (scaled out step by
 * step, as a service adds replicas). After each step and a warm-up, a
 * window of whole periods (minutes or seconds) with database readings
 * (server CPU, statements, transactions) at both ends; after the last
 * window a grace period, then SIGTERM, the run logs, and one row per step.
 * Duplicates are counted exactly per (job, slot) over every process and
 * every slot of the step; missed are the (job, slot) pairs of the window
 * that had not run when the processes stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startScript, type NodeProcess } from '../../lib/processes.js';
import { fairness, percentile } from '../../lib/stats.js';
import { dbDelta, freshDatabase, readDb, type BenchPostgres, type DbDelta } from './db-meter.js';
import type { PgInstanceConfig, PgInstanceResult, PgSystem } from './protocol.js';

const SCRIPTS: Record<PgSystem, string> = {
  schedkit: 'benchmarks/suites/postgres/schedkit-instance.ts',
  'pg-boss': 'benchmarks/suites/postgres/pgboss-instance.ts',
  'graphile-worker': 'benchmarks/suites/postgres/graphile-instance.ts',
};

/** Module loading (tsx, the system's packages) with every process of the suite loading at once on 2 cores. */
const LOAD_TIMEOUT_MS = 120_000;
/** Connect, migrate, register up to 10,000 schedules, start: pg-boss 10 creates a table partition per queue, one queue per job. */
const READY_TIMEOUT_MS = 600_000;
const RESULT_TIMEOUT_MS = 60_000;
/** Readings are taken this long before each window boundary: a period's runs start at or after it. */
const READ_AHEAD_MS = 1_000;

export interface PhasePlan {
  system: PgSystem;
  every: 'minute' | 'second';
  jobs: number;
  /** Instance counts measured one after the other, scaling out between them. */
  sizes: number[];
  concurrency: number;
  /** From the newest instance ready to the window (then rounded up to the period). */
  warmupMs: number;
  /** A whole number of periods; 0 = a smoke run: start, `smokeMs`, stop, nothing measured. */
  windowMs: number;
  /** After the last window, before SIGTERM: late runs of its slots may still come. */
  graceMs: number;
  smokeMs?: number;
}

export interface PgRow {
  system: PgSystem;
  every: 'minute' | 'second';
  jobs: number;
  instances: number;
  /** Epoch ms of the window's first slot, and its length (0 in a smoke run). */
  windowStart: number;
  windowMs: number;
  /** (job, slot) pairs of the window. */
  expected: number;
  runsInWindow: number;
  runsPerSec: number;
  runsPerInstance: number[];
  spread: number | null;
  /** Runs of any slot during the step (smoke runs: all there is). */
  runsSeen: number;
  /** Handler start − slot of the window's runs, ms. */
  lateness: { p50: number; p99: number; max: number };
  /** Runs of the window that started more than 1 s / 60 s after their slot. */
  lateOver1s: number;
  lateOver60s: number;
  duplicatesInWindow: number;
  duplicatesTotal: number;
  missed: number;
  slotsWithMisses: number;
  /** Database readings over the window (server CPU, statements, transactions). */
  db?: DbDelta;
  dbCpuMsPerRun: number;
  statementsPerRun: number | null;
  statementsExecutedPerRun: number | null;
  transactionsPerRun: number;
  /** CPU of the instance processes over the window, per run. */
  clientCpuMsPerRun: number;
  /** What the instances logged or emitted besides runs during the step (the stop included, for the last step). */
  events: Record<string, number>;
  /** ... of which in the second SIGTERM was sent or later: while the instances stopped. */
  eventsWhileStopping: Record<string, number>;
  startupMs: number;
}

interface Step {
  size: number;
  goAt: number;
  startupMs: number;
  windowStart: number;
  windowEnd: number;
  db?: DbDelta;
}

export class PgFleet {
  private readonly processes: NodeProcess[] = [];
  private readonly steps: Step[] = [];
  private database: { name: string; url: string; drop: () => Promise<void> } | undefined;
  private started = 0;
  /** When SIGTERM was sent to the instances (epoch ms). */
  private stoppedAt = Infinity;
  readonly period: number;

  constructor(
    readonly plan: PhasePlan,
    private readonly db: BenchPostgres,
  ) {
    this.period = plan.every === 'minute' ? 60_000 : 1_000;
  }

  get label(): string {
    return `${this.plan.system}, ${this.plan.jobs} jobs every ${this.plan.every}`;
  }

  /** Makes the phase's database and starts its processes (modules load; each waits for SIGUSR2). */
  async spawn(): Promise<void> {
    const label = `${this.plan.system.replace(/-/g, '_')}_${this.plan.every}_${this.plan.jobs}`;
    this.database = await freshDatabase(this.db, label);
    const count = Math.max(...this.plan.sizes);
    for (let i = 0; i < count; i++) {
      const config: PgInstanceConfig = {
        system: this.plan.system,
        instanceId: `${label}-${i}`,
        url: this.database.url,
        jobs: this.plan.jobs,
        every: this.plan.every,
        concurrency: this.plan.concurrency,
      };
      this.processes.push(startScript(`postgres ${config.instanceId}`, SCRIPTS[this.plan.system], config));
    }
  }

  /** Resolves once every process has loaded its modules. */
  async loaded(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.waitForLine('loaded', {}, LOAD_TIMEOUT_MS)));
  }

  /** Runs every step, stops the processes and folds each step into a row. */
  async run(): Promise<PgRow[]> {
    for (const size of this.plan.sizes) await this.step(size);
    await sleep(this.plan.windowMs === 0 ? 0 : this.plan.graceMs);
    const results = await this.finish();
    return this.steps.map((step, i) => this.fold(results, step, i === 0 ? -Infinity : step.goAt, this.steps[i + 1]?.goAt ?? Infinity));
  }

  private async step(size: number): Promise<void> {
    const goAt = Date.now();
    const fresh = this.processes.slice(this.started, size);
    this.started = size;
    for (const p of fresh) p.signal('SIGUSR2');
    await Promise.all(fresh.map((p) => p.waitForLine('ready', {}, READY_TIMEOUT_MS)));
    const readyAt = Date.now();
    if (this.plan.windowMs === 0) {
      await sleep(this.plan.smokeMs ?? 2_000);
      this.steps.push({ size, goAt, startupMs: readyAt - goAt, windowStart: 0, windowEnd: 0 });
      return;
    }
    // A checkpoint now rather than one forced by the registrations inside the window.
    await this.db.admin.query('CHECKPOINT');
    const windowStart = Math.ceil((Date.now() + this.plan.warmupMs) / this.period) * this.period;
    const windowEnd = windowStart + this.plan.windowMs;
    await sleep(Math.max(0, windowStart - READ_AHEAD_MS - Date.now()));
    const before = await readDb(this.db, this.database!.name);
    await sleep(Math.max(0, windowEnd - READ_AHEAD_MS - Date.now()));
    const after = await readDb(this.db, this.database!.name);
    this.steps.push({ size, goAt, startupMs: readyAt - goAt, windowStart, windowEnd, db: dbDelta(before, after) });
  }

  private async finish(): Promise<PgInstanceResult[]> {
    const started = this.processes.slice(0, this.started);
    this.stoppedAt = Date.now();
    for (const p of started) if (p.alive) p.signal('SIGTERM');
    return Promise.all(
      started.map(async (p) => {
        const line = await p.waitForLine('result', {}, RESULT_TIMEOUT_MS);
        const exit = await p.waitForExit(10_000);
        if (exit.code !== 0) throw p.failure(`exited with code ${exit.code}`);
        return line.result as PgInstanceResult;
      }),
    );
  }

  /** Kills every process still alive (by pid) and drops the phase's database. */
  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    const database = this.database;
    this.database = undefined;
    await database?.drop();
  }

  /**
   * `all`: every instance's result. The step's instances are its first
   * `step.size`; one that joined in a later step may still have run slots of
   * this step's window (the last ones, still being claimed when it started),
   * so every instance's runs count for runs, lateness, duplicates and
   * missed, and only the step's own for the spread and client CPU.
   */
  private fold(all: PgInstanceResult[], step: Step, from: number, to: number): PgRow {
    const results = all.slice(0, step.size);
    const { jobs } = this.plan;
    const period = this.period;
    const inWindow = (slot: number): boolean => slot >= step.windowStart && slot < step.windowEnd;
    const inStep = (at: number): boolean => at >= from && at < to;
    const counts = new Map<number, Uint16Array>();
    const late: number[] = [];
    const runsPerInstance = all.map(() => 0);
    let runsSeen = 0;
    all.forEach((result, index) => {
      for (const { slot, jobs: ran, lateMs } of result.slots) {
        if (!inStep(slot)) continue;
        runsSeen += ran.length;
        let perJob = counts.get(slot);
        if (perJob === undefined) counts.set(slot, (perJob = new Uint16Array(jobs)));
        for (const job of ran) if (job >= 0 && job < jobs) perJob[job]!++;
        if (inWindow(slot)) {
          runsPerInstance[index]! += ran.length;
          late.push(...lateMs);
        }
      }
    });
    let duplicatesTotal = 0;
    let duplicatesInWindow = 0;
    for (const [slot, perJob] of counts) {
      for (const n of perJob) {
        if (n <= 1) continue;
        duplicatesTotal += n - 1;
        if (inWindow(slot)) duplicatesInWindow += n - 1;
      }
    }
    let missed = 0;
    let slotsWithMisses = 0;
    for (let slot = step.windowStart; slot < step.windowEnd; slot += period) {
      const perJob = counts.get(slot);
      const none = perJob === undefined ? jobs : perJob.reduce((sum, n) => sum + (n === 0 ? 1 : 0), 0);
      missed += none;
      if (none > 0) slotsWithMisses++;
    }
    const runs = runsPerInstance.reduce((a, b) => a + b, 0);
    runsPerInstance.length = step.size;
    const windowMs = step.windowEnd - step.windowStart;
    let clientCpuMs = 0;
    if (windowMs > 0) {
      for (const result of results) {
        const first = result.ticks.find((t) => t.at === step.windowStart - READ_AHEAD_MS);
        const last = result.ticks.find((t) => t.at === step.windowEnd - READ_AHEAD_MS);
        clientCpuMs += first === undefined || last === undefined ? NaN : last.cpuMs - first.cpuMs;
      }
    }
    const events: Record<string, number> = {};
    const eventsWhileStopping: Record<string, number> = {};
    const stopSecond = Math.floor(this.stoppedAt / 1000) * 1000;
    for (const result of results) {
      for (const [name, bySecond] of Object.entries(result.events)) {
        for (const [second, n] of Object.entries(bySecond)) {
          if (!inStep(Number(second))) continue;
          events[name] = (events[name] ?? 0) + n;
          if (Number(second) >= stopSecond) eventsWhileStopping[name] = (eventsWhileStopping[name] ?? 0) + n;
        }
      }
    }
    const perRun = (value: number | undefined): number | null => (value === undefined ? null : value / runs);
    const spread = fairness(runsPerInstance);
    return {
      system: this.plan.system,
      every: this.plan.every,
      jobs,
      instances: results.length,
      windowStart: step.windowStart,
      windowMs,
      expected: (windowMs / period) * jobs,
      runsInWindow: runs,
      runsPerSec: windowMs === 0 ? NaN : runs / (windowMs / 1000),
      runsPerInstance,
      spread: Number.isFinite(spread) ? spread : null,
      runsSeen,
      lateness: { p50: percentile(late, 50), p99: percentile(late, 99), max: late.length === 0 ? NaN : late.reduce((a, b) => Math.max(a, b), -Infinity) },
      lateOver1s: late.filter((ms) => ms > 1_000).length,
      lateOver60s: late.filter((ms) => ms > 60_000).length,
      duplicatesInWindow,
      duplicatesTotal,
      missed,
      slotsWithMisses,
      ...(step.db === undefined ? {} : { db: step.db }),
      dbCpuMsPerRun: (step.db?.cpuMs ?? NaN) / runs,
      statementsPerRun: perRun(step.db?.statementsTop),
      statementsExecutedPerRun: perRun(step.db?.statementsAll),
      transactionsPerRun: (step.db?.transactions ?? NaN) / runs,
      clientCpuMsPerRun: clientCpuMs / runs,
      events,
      eventsWhileStopping,
      startupMs: step.startupMs,
    };
  }
}
