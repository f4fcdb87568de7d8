/**
 * The instance processes of one system in the cluster-throughput suite,
 * scaled out step by step (1, then 2, 4, 8 instances), the way a service
 * adds replicas: after each step a warm-up, then a window of whole seconds
 * with Redis INFO snapshots at both ends. Once every step is measured the
 * processes get SIGTERM after a grace period, hand over their run logs, and
 * each step is folded into one row. Duplicates are counted exactly per
 * (job, slot) over every process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { startScript, type NodeProcess } from '../../lib/processes.js';
import { commandDelta, commandStats, randomPrefix, redisCpuSeconds } from '../../lib/redis.js';
import { fairness, percentile } from '../../lib/stats.js';
import type { InstanceConfig, InstanceResult, System, Tick } from './protocol.js';

const SCRIPTS: Record<System, string> = {
  schedkit: 'benchmarks/suites/cluster/schedkit-instance.ts',
  bullmq: 'benchmarks/suites/cluster/bullmq-instance.ts',
};

export interface Plan {
  jobs: number;
  concurrency: number;
  /** From the newest instance ready to the window's start (then rounded up to a whole second), with one instance. */
  warmupMs: number;
  /** The same with several: instances learn of each other by heartbeat (every 2 s), so the window sees the steady spread. */
  warmupManyMs: number;
  windowMs: number;
  /** After the last window, before SIGTERM: the window's last slots finish. */
  graceMs: number;
}

export interface Row {
  system: System;
  instances: number;
  /** Warm-up asked for before the window (the window then starts at the next whole second). */
  warmupMs: number;
  windowStart: number;
  windowMs: number;
  /** Runs of slots inside the window, per second. */
  runsPerSec: number;
  runsInWindow: number;
  /** Runs of the window's slots, per instance (by instance index). */
  runsPerInstance: number[];
  spread: number;
  /** (job, slot) runs beyond the first: inside the window, and over every slot of this step (from the new instances' start to the next step). */
  duplicatesInWindow: number;
  duplicatesTotal: number;
  /** (job, slot) pairs of the window's slots that never ran. */
  missed: number;
  /** Slots of the window in which at least one job was missed. */
  slotsWithMisses: number;
  /** Commands the instances sent (counted in ioredis) and Redis executed (INFO commandstats, incl. inside scripts), per run. */
  sentPerRun: number;
  executedPerRun: number;
  sentByCommand: Record<string, number>;
  executedByCommand: Record<string, number>;
  /** Redis server CPU and the instances' CPU (sum, all threads), µs per run. */
  redisCpuUsPerRun: number;
  clientCpuUsPerRun: number;
  /** Cores used by Redis and by all instances together during the window. */
  redisCpuCores: number;
  clientCpuCores: number;
  /** Handler start − slot over the window's runs, ms. */
  lateness: { p50: number; p99: number; max: number };
  /** Events and warnings the instances counted during this step (failures, skips, errors). */
  events: Record<string, number>;
  /** From SIGUSR2 (go) until the new instances had registered their jobs and were running, ms. */
  startupMs: number;
}

/** One measured step, before the run logs are in. */
interface Step {
  size: number;
  warmupMs: number;
  /** When the new instances were told to go: the step's slots start here. */
  goAt: number;
  startupMs: number;
  windowStart: number;
  windowEnd: number;
  redis: ReturnType<typeof commandDelta>;
  redisCpuSeconds: number;
}

export class Fleet {
  private readonly processes: NodeProcess[] = [];
  private readonly started = new Map<number, Promise<{ goAt: number; readyAt: number }>>();
  private readonly steps: Step[] = [];
  private readonly prefix: string;

  constructor(
    readonly system: System,
    private readonly plan: Plan,
    private readonly server: { host: string; port: number },
  ) {
    this.prefix = randomPrefix(`ct-${system}`);
  }

  get size(): number {
    return this.processes.length;
  }

  /** Starts `count` more processes and waits until each has loaded its modules (they stay idle until `go`). */
  async spawn(count: number): Promise<void> {
    const added: NodeProcess[] = [];
    for (let i = 0; i < count; i++) {
      const config: InstanceConfig = {
        system: this.system,
        instanceId: `${this.system}-${this.processes.length}`,
        host: this.server.host,
        port: this.server.port,
        prefix: this.prefix,
        jobs: this.plan.jobs,
        concurrency: this.plan.concurrency,
      };
      const child = startScript(config.instanceId, SCRIPTS[this.system], config);
      this.processes.push(child);
      added.push(child);
    }
    await Promise.all(added.map((p) => p.waitForLine('loaded', {}, 60_000)));
  }

  /**
   * Lets the first `size` processes connect, register their jobs and start
   * (those not started yet get SIGUSR2); resolves once they all run.
   * Idempotent per size.
   */
  go(size: number): Promise<{ goAt: number; readyAt: number }> {
    let started = this.started.get(size);
    if (started === undefined) {
      started = (async () => {
        if (this.processes.length < size) throw new Error(`${this.system}: ${size} instances asked, ${this.processes.length} spawned`);
        const goAt = Date.now();
        const fresh = this.processes.slice(this.started.size === 0 ? 0 : Math.max(...this.started.keys()), size);
        for (const p of fresh) p.signal('SIGUSR2');
        await Promise.all(fresh.map((p) => p.waitForLine('ready', {}, 60_000)));
        return { goAt, readyAt: Date.now() };
      })();
      this.started.set(size, started);
    }
    return started;
  }

  /**
   * Runs `size` instances (`go`, spawning what is missing), waits the
   * warm-up and measures one window; `windowEnded` is called as soon as it
   * ends (the suite may start the next fleet then).
   */
  async measure(size: number, admin: Redis, windowEnded: () => void = () => undefined): Promise<void> {
    if (this.processes.length < size) await this.spawn(size - this.processes.length);
    const { goAt, readyAt } = await this.go(size);
    const warmupMs = size === 1 ? this.plan.warmupMs : this.plan.warmupManyMs;
    const windowStart = Math.ceil((readyAt + warmupMs) / 1000) * 1000;
    const windowEnd = windowStart + this.plan.windowMs;
    await sleep(windowStart - Date.now());
    const before = { stats: await commandStats(admin), cpu: await redisCpuSeconds(admin) };
    await sleep(windowEnd - Date.now());
    const after = { stats: await commandStats(admin), cpu: await redisCpuSeconds(admin) };
    windowEnded();
    this.steps.push({
      size,
      warmupMs,
      goAt,
      startupMs: readyAt - goAt,
      windowStart,
      windowEnd,
      redis: commandDelta(before.stats, after.stats),
      redisCpuSeconds: after.cpu - before.cpu,
    });
  }

  /** Waits the grace period, stops every process (SIGTERM), and folds each measured step into a row. */
  async finish(): Promise<Row[]> {
    await sleep(this.plan.graceMs);
    for (const p of this.processes) if (p.alive) p.signal('SIGTERM');
    const results = await Promise.all(
      this.processes.map(async (p) => {
        const line = await p.waitForLine('result', {}, 60_000);
        const exit = await p.waitForExit(10_000);
        if (exit.code !== 0) throw p.failure(`exited with code ${exit.code}`);
        return line.result as InstanceResult;
      }),
    );
    return this.steps.map((step, i) => fold(this.system, this.plan.jobs, results, step, this.steps[i + 1]?.goAt ?? Infinity));
  }

  /** Kills every process still alive (by pid). */
  async kill(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
  }
}

/**
 * `all`: every instance's result; the step's are its first `step.size`. An
 * instance that joined in a later step may have run the last slots of this
 * step's window, so every instance's runs count for runs, lateness,
 * duplicates and missed, and only the step's own for the spread, CPU and
 * commands.
 */
function fold(system: System, jobs: number, all: InstanceResult[], step: Step, stepEnd: number): Row {
  const results = all.slice(0, step.size);
  const inWindow = (slot: number): boolean => slot >= step.windowStart && slot < step.windowEnd;
  const inStep = (at: number): boolean => at >= step.goAt && at < stepEnd;
  // Runs per (slot, job) over every instance: exact duplicate and miss counts.
  const counts = new Map<number, Uint16Array>();
  const late: number[] = [];
  const runsPerInstance = all.map(() => 0);
  all.forEach((result, index) => {
    for (const { slot, jobs: ran, lateMs } of result.slots) {
      if (!inStep(slot)) continue;
      let perJob = counts.get(slot);
      if (perJob === undefined) counts.set(slot, (perJob = new Uint16Array(jobs)));
      for (const job of ran) perJob[job]!++;
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
  for (let slot = step.windowStart; slot < step.windowEnd; slot += 1000) {
    const perJob = counts.get(slot);
    const none = perJob === undefined ? jobs : perJob.reduce((sum, n) => sum + (n === 0 ? 1 : 0), 0);
    missed += none;
    if (none > 0) slotsWithMisses++;
  }

  const runs = runsPerInstance.reduce((a, b) => a + b, 0);
  runsPerInstance.length = step.size;
  const windowSec = (step.windowEnd - step.windowStart) / 1000;
  // What the instances sent and spent between the window's two ticks.
  const sentByCommand: Record<string, number> = {};
  let clientCpuMs = 0;
  for (const result of results) {
    const first = tickAt(result, step.windowStart);
    const last = tickAt(result, step.windowEnd);
    clientCpuMs += last.cpuMs - first.cpuMs;
    for (const [name, calls] of Object.entries(last.sent)) {
      const diff = calls - (first.sent[name] ?? 0);
      if (diff > 0) sentByCommand[name] = (sentByCommand[name] ?? 0) + diff;
    }
  }
  const sent = Object.values(sentByCommand).reduce((a, b) => a + b, 0);
  const events: Record<string, number> = {};
  for (const result of results) {
    for (const [name, bySecond] of Object.entries(result.events)) {
      for (const [second, n] of Object.entries(bySecond)) if (inStep(Number(second))) events[name] = (events[name] ?? 0) + n;
    }
  }

  return {
    system,
    instances: results.length,
    warmupMs: step.warmupMs,
    windowStart: step.windowStart,
    windowMs: step.windowEnd - step.windowStart,
    runsPerSec: runs / windowSec,
    runsInWindow: runs,
    runsPerInstance,
    spread: fairness(runsPerInstance),
    duplicatesInWindow,
    duplicatesTotal,
    missed,
    slotsWithMisses,
    sentPerRun: sent / runs,
    executedPerRun: step.redis.executed / runs,
    sentByCommand,
    executedByCommand: step.redis.byCommand,
    redisCpuUsPerRun: (step.redisCpuSeconds * 1e6) / runs,
    clientCpuUsPerRun: (clientCpuMs * 1e3) / runs,
    redisCpuCores: step.redisCpuSeconds / windowSec,
    clientCpuCores: clientCpuMs / 1000 / windowSec,
    lateness: { p50: percentile(late, 50), p99: percentile(late, 99), max: late.length === 0 ? NaN : late.reduce((a, b) => Math.max(a, b), -Infinity) },
    events,
    startupMs: step.startupMs,
  };
}

function tickAt(result: InstanceResult, at: number): Tick {
  const tick = result.ticks.find((t) => t.at === at);
  if (tick === undefined) throw new Error(`${result.instanceId}: no CPU/command sample at ${new Date(at).toISOString()}`);
  return tick;
}
