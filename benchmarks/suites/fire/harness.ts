/**
 * The part every contender process shares: it waits for the suite's go
 * signal, starts the contender's jobs, runs the phases (warm-up, then a
 * measured window of whole seconds), records each fire's lateness against
 * its slot, measures CPU (and Redis CPU and commands) over each window, and
 * prints one `result` line.
 *
 * Lateness is the handler's start minus the slot time, read on a sub-
 * millisecond clock (`performance.now()` set on the wall clock, see
 * `PreciseClock`), the same way for every contender.
 */
import { Redis } from 'ioredis';
import { commandDelta, commandStats, redisCpuSeconds } from '../../lib/redis.js';
import { report, reportThenExit, scriptConfig } from '../../lib/processes.js';
import {
  HISTOGRAM_BUCKETS_MS,
  type ContenderConfig,
  type ContenderResult,
  type PhasePlan,
  type PhaseResult,
  type RedisCost,
} from './protocol.js';

/** Called by a job's handler when it starts: the job's index and the slot (epoch ms) it runs for. */
export type FireFn = (job: number, slotMs: number) => void;

/** What each contender file implements. */
export interface Contender {
  /** Loads and builds what it needs (connections, instances); nothing fires yet. */
  prepare(config: ContenderConfig): Promise<void>;
  /** Adds jobs [from, to), each firing every second and calling `fire` in its handler. Before or after `start`. */
  addJobs(from: number, to: number, fire: FireFn): Promise<void>;
  /** Starts firing (for libraries whose jobs run once added, nothing). */
  start(): Promise<void>;
  /** Stops everything and closes connections. */
  stop(): Promise<void>;
  /** What it logged or emitted besides runs, and which slots its policies deliberately did not run (schedkit only). */
  incidents?(): Incidents;
}

/** Slots a scheduler deliberately did not run, and the count of everything else it reported. */
export interface Incidents {
  counts: Record<string, number>;
  /** Job index -> slots the overlap policy skipped. */
  skipped: Map<number, Set<number>>;
  /**
   * Misfire decisions that dropped slots: job index, how many slots were
   * dropped, and which: exactly the slots s with `after < s < before`, as
   * the scheduler logs them.
   */
  drops: Array<{ job: number; dropped: number; after: number; before: number }>;
  /** Job index -> slots whose run was still pending in the store when the contender stopped (read from the store after the stop). */
  pending?: Map<number, Set<number>>;
}

const SECOND = 1_000;
/** Snapshots are taken mid-second, between two bursts of fires. */
const MID_SECOND = 500;

/**
 * The wall clock with sub-millisecond resolution: `performance.now()` plus
 * an offset measured at a tick of `Date.now()` (re-measured before each
 * window, so a slewed wall clock cannot drift it).
 */
class PreciseClock {
  private offset = 0;

  constructor() {
    this.calibrate();
  }

  now(): number {
    return performance.now() + this.offset;
  }

  /** Spins (at most ~1 ms) until Date.now() ticks, and takes that instant as the offset. */
  calibrate(): void {
    const first = Date.now();
    for (let i = 0; i < 10_000_000; i++) {
      const p = performance.now();
      const d = Date.now();
      if (d !== first) {
        this.offset = d - p;
        return;
      }
    }
    this.offset = Date.now() - performance.now();
  }
}

/** Fires of one phase window, by (job, slot). */
export class PhaseRecord {
  readonly slots: number;
  readonly counts: Uint16Array;
  readonly lateness: number[] = [];
  unexpected = 0;
  /** Fires more than 1 s after their slot. */
  lateRan = 0;

  constructor(
    readonly jobs: number,
    readonly start: number,
    readonly windowMs: number,
  ) {
    this.slots = windowMs / SECOND;
    this.counts = new Uint16Array(jobs * this.slots);
  }

  get end(): number {
    return this.start + this.windowMs;
  }
}

class Recorder {
  total = 0;
  readonly phases: PhaseRecord[] = [];

  constructor(private readonly clock: PreciseClock) {}

  readonly fire: FireFn = (job, slotMs) => {
    const lateness = this.clock.now() - slotMs;
    this.total++;
    for (let i = this.phases.length - 1; i >= 0; i--) {
      const phase = this.phases[i]!;
      if (slotMs < phase.start || slotMs >= phase.end) continue;
      const index = (slotMs - phase.start) / SECOND;
      if (!Number.isInteger(index) || job < 0 || job >= phase.jobs) {
        phase.unexpected++;
        return;
      }
      const cell = job * phase.slots + index;
      if (phase.counts[cell]! < 65_535) phase.counts[cell]!++;
      phase.lateness.push(lateness);
      if (lateness > SECOND) phase.lateRan++;
      return;
    }
  };

  /** True once every (job, slot) of the phase has fired at least once. */
  complete(phase: PhaseRecord): boolean {
    return phase.counts.every((c) => c > 0);
  }
}

interface Snapshot {
  at: number;
  fires: number;
  cpu: NodeJS.CpuUsage;
  redisCpuSec?: number;
  commands?: Map<string, number>;
  client?: Map<string, number>;
}

/** Counts the commands this process writes to Redis, in ioredis itself (the stats connection excluded). */
const clientCommands = new Map<string, number>();
const STATS_CONNECTION = Symbol('fire-accuracy stats connection');
function countClientCommands(): void {
  const proto = Redis.prototype as unknown as { sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: Record<symbol, unknown>, command: { name: string }, ...rest: unknown[]) {
    if (this[STATS_CONNECTION] !== true) clientCommands.set(command.name, (clientCommands.get(command.name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
}

/** Runs a contender as configured by the suite (BENCH_CONFIG), prints its `result` line and exits. */
export async function runContender(contender: Contender): Promise<never> {
  const config = scriptConfig<ContenderConfig>();
  const giveUp = (why: string) => (): void => {
    report('error', { error: why });
    process.exit(2);
  };
  // Also what keeps the process alive while it waits for its turn.
  let watchdog = setTimeout(giveUp(`its turn did not come within maxWaitMs (${config.maxWaitMs} ms)`), config.maxWaitMs);
  const onGo = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(giveUp(`no result within maxRunMs (${config.maxRunMs} ms) of its turn`), config.maxRunMs);
  };
  try {
    const result = await runPhases(contender, config, onGo);
    clearTimeout(watchdog);
    reportThenExit('result', { result }, 0);
  } catch (error) {
    reportThenExit('error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 1);
  }
  // The process exits once its last line is written.
  return new Promise<never>(() => {});
}

async function runPhases(contender: Contender, config: ContenderConfig, onGo: () => void): Promise<ContenderResult> {
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { lazyConnect: true });
  if (redis !== undefined) {
    (redis as unknown as Record<symbol, unknown>)[STATS_CONNECTION] = true;
    countClientCommands();
    await redis.connect();
  }
  try {
    await contender.prepare(config);
    // The suite starts contenders ahead of time (loading modules is slow) and
    // sends SIGUSR2 when it is this one's turn; nothing fires before that.
    const go = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
    report('ready');
    await go;
    onGo();

    const clock = new PreciseClock();
    const recorder = new Recorder(clock);
    const began = clock.now();
    const results: PhaseResult[] = [];
    const snapshots: Array<[Snapshot, Snapshot]> = [];

    let jobs = 0;
    let previousEnd: number | undefined;
    for (const plan of config.phases) {
      if (previousEnd !== undefined) await sleepUntil(clock, previousEnd - MID_SECOND + 100);
      await contender.addJobs(jobs, plan.jobs, recorder.fire);
      jobs = plan.jobs;
      if (previousEnd === undefined) await contender.start();
      const start = windowStart(clock.now(), plan, previousEnd);
      const phase = new PhaseRecord(plan.jobs, start, plan.windowMs);
      recorder.phases.push(phase);
      await sleepUntil(clock, start - MID_SECOND);
      clock.calibrate();
      const first = await snapshot(clock, recorder, redis);
      report('window', { jobs: plan.jobs, start, windowMs: plan.windowMs });
      await sleepUntil(clock, phase.end - MID_SECOND);
      const last = await snapshot(clock, recorder, redis);
      snapshots.push([first, last]);
      previousEnd = phase.end;
    }

    // Late fires of the last window's slots: at most drainMs after it, and
    // no longer than 1.5 s without one (a library that dropped slots).
    const lastPhase = recorder.phases[recorder.phases.length - 1]!;
    const drainUntil = lastPhase.end + config.drainMs;
    let seen = lastPhase.lateness.length;
    let progressAt = clock.now();
    while (!recorder.complete(lastPhase) && clock.now() < drainUntil && clock.now() - progressAt < 1_500) {
      await sleep(50);
      if (lastPhase.lateness.length > seen) {
        seen = lastPhase.lateness.length;
        progressAt = clock.now();
      }
    }
    await sleep(200); // a duplicate of the last slot would come now
    const runMs = lastPhase.end - began;
    await contender.stop();

    const incidents = contender.incidents?.();
    for (let i = 0; i < recorder.phases.length; i++) {
      results.push(phaseResult(recorder.phases[i]!, snapshots[i]![0], snapshots[i]![1], incidents));
    }
    return { contender: config.contender, phases: results, runMs, ...(incidents === undefined ? {} : { incidents: incidents.counts }) };
  } finally {
    redis?.disconnect();
  }
}

/**
 * The first slot of a phase's window: whole seconds, after its warm-up and
 * after the jobs were added (with room for their first fire).
 */
function windowStart(now: number, plan: PhasePlan, previousEnd: number | undefined): number {
  const firstAfterAdding = Math.ceil((now + 100) / SECOND) * SECOND;
  return Math.max(previousEnd ?? firstAfterAdding, firstAfterAdding) + plan.warmMs;
}

async function snapshot(clock: PreciseClock, recorder: Recorder, redis: Redis | undefined): Promise<Snapshot> {
  const snap: Snapshot = { at: clock.now(), fires: recorder.total, cpu: process.cpuUsage() };
  if (redis !== undefined) {
    snap.client = new Map(clientCommands);
    snap.redisCpuSec = await redisCpuSeconds(redis);
    snap.commands = await commandStats(redis);
  }
  return snap;
}

/**
 * Sorts the (job, slot) pairs that never fired: skipped by the overlap
 * policy (a `run:skipped` for that very slot), dropped by the misfire policy
 * (a "missed slots" decision for that job naming the slot, with a dropped
 * slot of its count left: each logged drop explains at most its count),
 * pending (its run was still in the store, not run yet, when the contender
 * stopped), or lost (nothing accounts for it).
 */
export function classifyUnfired(phase: PhaseRecord, incidents: Incidents | undefined): { missed: number; skipped: number; dropped: number; pending: number; lost: number } {
  let missed = 0;
  let skipped = 0;
  let dropped = 0;
  let pending = 0;
  const budget = new Map<number, Array<{ after: number; before: number; left: number }>>();
  for (const drop of incidents?.drops ?? []) {
    let list = budget.get(drop.job);
    if (list === undefined) budget.set(drop.job, (list = []));
    list.push({ after: drop.after, before: drop.before, left: drop.dropped });
  }
  for (let job = 0; job < phase.jobs; job++) {
    for (let index = 0; index < phase.slots; index++) {
      if (phase.counts[job * phase.slots + index] !== 0) continue;
      missed++;
      const slot = phase.start + index * SECOND;
      if (incidents?.skipped.get(job)?.has(slot) === true) {
        skipped++;
        continue;
      }
      const drop = budget.get(job)?.find((d) => d.left > 0 && slot > d.after && slot < d.before);
      if (drop !== undefined) {
        drop.left--;
        dropped++;
        continue;
      }
      if (incidents?.pending?.get(job)?.has(slot) === true) pending++;
    }
  }
  return { missed, skipped, dropped, pending, lost: missed - skipped - dropped - pending };
}

function phaseResult(phase: PhaseRecord, first: Snapshot, last: Snapshot, incidents: Incidents | undefined): PhaseResult {
  let duplicatePairs = 0;
  let duplicateFires = 0;
  for (const count of phase.counts) {
    if (count > 1) {
      duplicatePairs++;
      duplicateFires += count - 1;
    }
  }
  const { missed, skipped, dropped, pending, lost } = classifyUnfired(phase, incidents);
  const sorted = Float64Array.from(phase.lateness).sort();
  const n = sorted.length;
  const pick = (p: number): number => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
  const histogram = HISTOGRAM_BUCKETS_MS.map((upToMs) => ({ upToMs, count: 0 }));
  let sum = 0;
  for (const value of sorted) {
    sum += value;
    const bucket = histogram.find((b) => value <= b.upToMs)!;
    bucket.count++;
  }
  const cpu = last.cpu;
  const cpuMs = (cpu.user - first.cpu.user + (cpu.system - first.cpu.system)) / 1000;
  let redis: RedisCost | undefined;
  if (first.commands !== undefined && last.commands !== undefined) {
    const delta = commandDelta(first.commands, last.commands);
    const clientByCommand: Record<string, number> = {};
    for (const [name, calls] of last.client!) {
      const diff = calls - (first.client!.get(name) ?? 0);
      if (diff > 0 && name !== 'info') clientByCommand[name] = diff;
    }
    redis = {
      cpuMs: (last.redisCpuSec! - first.redisCpuSec!) * 1000,
      sent: delta.sent,
      executed: delta.executed,
      clientCommands: Object.values(clientByCommand).reduce((a, b) => a + b, 0),
      byCommand: delta.byCommand,
      clientByCommand,
    };
  }
  return {
    jobs: phase.jobs,
    windowStart: phase.start,
    windowMs: phase.windowMs,
    expected: phase.counts.length,
    fires: n,
    duplicatePairs,
    duplicateFires,
    missed,
    skipped,
    dropped,
    pending,
    lost,
    lateRan: phase.lateRan,
    unexpected: phase.unexpected,
    p50Ms: pick(50),
    p90Ms: pick(90),
    p99Ms: pick(99),
    maxMs: n === 0 ? NaN : sorted[n - 1]!,
    minMs: n === 0 ? NaN : sorted[0]!,
    meanMs: n === 0 ? NaN : sum / n,
    histogram,
    cpuWindowMs: last.at - first.at,
    firesInCpuWindow: last.fires - first.fires,
    cpuMs,
    ...(redis === undefined ? {} : { redis }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the wall clock reads `at` (timers may wake a little early: it checks). */
async function sleepUntil(clock: PreciseClock, at: number): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    const left = at - clock.now();
    if (left <= 0) return;
    await sleep(Math.ceil(left));
  }
}
