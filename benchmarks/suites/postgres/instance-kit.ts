/**
 * What the three instance processes of the postgres suite (schedkit,
 * pg-boss, graphile-worker) share: the run log, the event tally and the
 * per-second CPU sampler of the cluster suite's instances, and the sequence
 * SIGUSR2 → start (`ready`) → SIGTERM → stop → `result` line → exit.
 */
import { report, reportThenExit, scriptConfig } from '../../lib/processes.js';
import { fail, loadedThenWait, SecondTicker, Tally } from '../cluster/instance-kit.js';
import type { PgInstanceConfig, PgInstanceResult, SlotRuns } from './protocol.js';

export { fail, Tally };

/**
 * Every run this instance started, grouped by slot, with its lateness
 * (start − slot). `startedAt` defaults to now; a system whose job does not
 * carry its slot records the run at once and its slot later.
 */
export class RunLog {
  private readonly bySlot = new Map<number, SlotRuns>();

  record(job: number, slot: number, startedAt: number = Date.now()): void {
    let runs = this.bySlot.get(slot);
    if (runs === undefined) this.bySlot.set(slot, (runs = { slot, jobs: [], lateMs: [] }));
    runs.jobs.push(job);
    runs.lateMs.push(startedAt - slot);
  }

  slots(): SlotRuns[] {
    return [...this.bySlot.values()].sort((a, b) => a.slot - b.slot);
  }
}

/** The system as one instance runs it: `start` registers the jobs (each run calls `log.record`) and starts; `stop` stops and disconnects (and records what it could not record at run time). */
export interface PgSystemInstance {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a system's instance from its config, the run log and the tally of its events. */
export type BuildInstance = (config: PgInstanceConfig, log: RunLog, tally: Tally) => PgSystemInstance;

/** Bounds the stop: a system that never finishes stopping still reports what it ran. */
const STOP_TIMEOUT_MS = 30_000;

/**
 * The whole life of an instance process: prints `loaded`, waits for SIGUSR2,
 * starts the system, prints `ready`; on SIGTERM stops it, prints `result`
 * and exits 0. Any error exits 1 with it on stderr.
 */
export async function runInstance(build: BuildInstance): Promise<void> {
  const config = scriptConfig<PgInstanceConfig>();
  await loadedThenWait();
  const goAt = Date.now();
  const log = new RunLog();
  const tally = new Tally();
  const instance = build(config, log, tally);
  const ticker = new SecondTicker(() => ({}));
  ticker.start();
  await instance.start();
  const startupMs = Date.now() - goAt;
  report('ready', { instance: config.instanceId, pid: process.pid, startupMs });
  process.once('SIGTERM', () => {
    const began = Date.now();
    ticker.stop();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        tally.add(`stop did not finish within ${STOP_TIMEOUT_MS / 1000} s`);
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    Promise.race([instance.stop(), deadline])
      .then(() => {
        clearTimeout(timer);
        const result: PgInstanceResult = {
          instanceId: config.instanceId,
          pid: process.pid,
          startupMs,
          slots: log.slots(),
          ticks: ticker.ticks,
          events: tally.counts,
          stopMs: Date.now() - began,
        };
        reportThenExit('result', { result }, 0);
      })
      .catch((error: unknown) => fail(error));
  });
}

/** The cron expression of a config: five fields every minute, six every second. */
export function cronOf(config: PgInstanceConfig): string {
  return config.every === 'minute' ? '* * * * *' : '* * * * * *';
}
