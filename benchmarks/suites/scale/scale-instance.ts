/**
 * One size of the scale suite, in a fresh process started with --expose-gc:
 * a scheduler on the memory backend, `jobs` recurring jobs registered before
 * `start()`, none of them due for months. Measures registration and start
 * time, memory after a full gc against the same process before registering,
 * and process CPU over an idle window. Config in BENCH_CONFIG; prints one
 * `result` line, then exits.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobDefinition } from 'schedkit';
import { reportThenExit, scriptConfig } from '../../lib/processes.js';
import { memoryScheduler } from '../../lib/schedkit.js';
import type { Memory, ScaleConfig, ScaleResult } from './protocol.js';

const config = scriptConfig<ScaleConfig>();
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('scale-instance.ts must run with --expose-gc');

/** Several full collections: what is left is what the process really holds. */
function memory(): Memory {
  for (let i = 0; i < 4; i++) collect!();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

const cpuMs = (since?: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/**
 * CPU time of the main thread (where the scheduler's JavaScript runs), ms,
 * from the kernel's per-thread run time in ns; NaN where /proc is missing.
 * Process CPU also counts tsx's module-loader thread, whose own idle-time
 * garbage collections (about 8 s after start) would otherwise land in the
 * idle window of a young process.
 */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

// Nothing may be due while we measure: every schedule points at a month about
// half a year away (the first of it, UTC).
const now = new Date();
const farMonth = (now.getUTCMonth() + 6) % 12; // 0-based
const farYear = now.getUTCFullYear() + (farMonth <= now.getUTCMonth() ? 1 : 0);
const farStart = Date.UTC(farYear, farMonth, 1);
const POOL = 500;

/**
 * The job mix: half share one cron expression, four tenths use one of 500
 * expressions (a time of day each, as per-tenant jobs would), one tenth is an
 * hourly interval starting on that far date.
 */
function definition(i: number, handler: JobDefinition['handler']): { def: JobDefinition; kind: string; nextRunAt: number } {
  const k = i % 10;
  if (k < 5) return { def: { name: `job-${i}`, schedule: `0 0 1 ${farMonth + 1} *`, handler }, kind: 'cron, one shared expression', nextRunAt: farStart };
  if (k < 9) {
    const p = i % POOL;
    const minute = p % 60;
    const hour = Math.floor(p / 60) % 24;
    return {
      def: { name: `job-${i}`, schedule: `${minute} ${hour} 1 ${farMonth + 1} *`, handler },
      kind: `cron, one of ${POOL} expressions`,
      nextRunAt: farStart + hour * 3_600_000 + minute * 60_000,
    };
  }
  return {
    def: { name: `job-${i}`, schedule: { every: '1h', startAt: new Date(farStart) }, handler },
    kind: 'interval 1h from that date',
    nextRunAt: farStart,
  };
}

async function main(): Promise<void> {
  const scheduler = memoryScheduler({ instanceId: 'scale' });
  let runsStarted = 0;
  scheduler.on('run:start', () => runsStarted++);
  // One handler for every job (a service registers many jobs of a few kinds).
  const handler: JobDefinition['handler'] = () => undefined;

  const before = memory();
  const mix: Record<string, number> = {};
  let cpu = process.cpuUsage();
  let t = performance.now();
  for (let i = 0; i < config.jobs; i++) {
    const { def, kind } = definition(i, handler);
    mix[kind] = (mix[kind] ?? 0) + 1;
    await scheduler.register(def);
  }
  const registerMs = performance.now() - t;
  const registerCpuMs = cpuMs(cpu);
  const registered = memory();

  cpu = process.cpuUsage();
  t = performance.now();
  await scheduler.start();
  const startMs = performance.now() - t;
  const startCpuMs = cpuMs(cpu);
  const started = memory();

  // Idle: nothing is due; only the scheduler's own timers may wake the process.
  await sleep(Math.max(config.settleMs, config.minUptimeMs - process.uptime() * 1000));
  const idleProcess = process.cpuUsage();
  const idleMain = mainThreadCpuMs();
  const wallStart = performance.now();
  const slices: ScaleResult['idle']['slices'] = [];
  for (let elapsed = 0; elapsed < config.idleMs; elapsed += config.sliceMs) {
    const process0 = process.cpuUsage();
    const main0 = mainThreadCpuMs();
    await sleep(config.sliceMs);
    slices.push({ processCpuMs: cpuMs(process0), mainThreadCpuMs: mainThreadCpuMs() - main0 });
  }
  const idle: ScaleResult['idle'] = {
    processCpuMs: cpuMs(idleProcess),
    mainThreadCpuMs: mainThreadCpuMs() - idleMain,
    wallMs: performance.now() - wallStart,
    startedAtUptimeMs: 0,
    slices,
  };
  idle.startedAtUptimeMs = Math.round(process.uptime() * 1000 - idle.wallMs);

  // Checks, after the measurements (listJobs of a million allocates a lot).
  const sampleErrors: string[] = [];
  for (let s = 0; s < config.samples; s++) {
    const i = Math.min(config.jobs - 1, Math.floor((s * config.jobs) / config.samples) + (s % 10));
    const expected = definition(i, handler);
    const info = await scheduler.getJob(`job-${i}`);
    if (info === null) sampleErrors.push(`job-${i}: not found`);
    else if (info.name !== `job-${i}` || info.nextRunAt?.getTime() !== expected.nextRunAt) {
      sampleErrors.push(`job-${i}: nextRunAt ${info.nextRunAt?.toISOString() ?? 'null'}, expected ${new Date(expected.nextRunAt).toISOString()}`);
    }
  }
  const listed = (await scheduler.listJobs()).length;
  const state = scheduler.state;
  await scheduler.stop();

  const result: ScaleResult = {
    jobs: config.jobs,
    mix,
    registerMs,
    startMs,
    registerCpuMs,
    startCpuMs,
    memory: { before, registered, started },
    idle,
    runsStarted,
    listed,
    sampleErrors: sampleErrors.slice(0, 10),
    samples: config.samples,
    scheduler: { state },
    node: { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS ?? '', gcExposed: true },
  };
  reportThenExit('result', { result }, 0);
}

main().then(
  () => undefined,
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
