/**
 * What both instance processes (schedkit and BullMQ) share: the run log, a
 * counter of commands sent to Redis, a per-second sampler of CPU and sent
 * commands, and the SIGTERM → stop → `result` line → exit sequence.
 */
import { Redis } from 'ioredis';
import { report, reportThenExit } from '../../lib/processes.js';
import type { InstanceConfig, InstanceResult, SlotRuns, Tick } from './protocol.js';

/** Every run this instance started, grouped by slot. Cheap enough to sit on the fire path. */
export class RunLog {
  private readonly bySlot = new Map<number, SlotRuns>();

  record(job: number, slot: number): void {
    let runs = this.bySlot.get(slot);
    if (runs === undefined) this.bySlot.set(slot, (runs = { slot, jobs: [], lateMs: [] }));
    runs.jobs.push(job);
    runs.lateMs.push(Date.now() - slot);
  }

  slots(): SlotRuns[] {
    return [...this.bySlot.values()].sort((a, b) => a.slot - b.slot);
  }
}

/** Counts, from now on, every command any ioredis client of this process sends (plain, script call, pipelined). */
export function countSentCommands(): () => Record<string, number> {
  const counts = new Map<string, number>();
  type Send = (this: Redis, command: { name: string }, ...rest: unknown[]) => unknown;
  const proto = Redis.prototype as unknown as { sendCommand: Send };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: Redis, command, ...rest) {
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
  return () => Object.fromEntries(counts);
}

/** Samples CPU and sent commands at every whole second of the wall clock. */
export class SecondTicker {
  readonly ticks: Tick[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sent: () => Record<string, number>) {}

  start(): void {
    const next = Math.floor(Date.now() / 1000) * 1000 + 1000;
    this.timer = setTimeout(() => {
      const cpu = process.cpuUsage();
      // Keyed by the boundary it stands for, so every process's sample lines up with the suite's window.
      this.ticks.push({ at: next, cpuMs: (cpu.user + cpu.system) / 1000, sent: this.sent() });
      this.start();
    }, next - Date.now());
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Prints `loaded` and resolves on SIGUSR2: the suite may start processes
 * ahead of time (module loading costs about half a second of CPU each) and
 * let them connect and register only when their measurement begins.
 */
export function loadedThenWait(): Promise<void> {
  return new Promise((resolve) => {
    // A signal listener alone does not keep the process alive.
    const keepAlive = setInterval(() => undefined, 60_000);
    process.once('SIGUSR2', () => {
      clearInterval(keepAlive);
      resolve();
    });
    report('loaded', { pid: process.pid });
  });
}

/** Counts named occurrences (events, warnings) per whole second, for the result line. */
export class Tally {
  /** name -> second (epoch ms) -> count */
  readonly counts: Record<string, Record<string, number>> = {};

  add(name: string): void {
    const second = String(Math.floor(Date.now() / 1000) * 1000);
    const bySecond = (this.counts[name] ??= {});
    bySecond[second] = (bySecond[second] ?? 0) + 1;
  }
}

/**
 * Prints `ready`, then on SIGTERM stops (`stop`), prints the `result` line and
 * exits 0. An error anywhere exits 1 with the error on stderr.
 */
export function serve(config: InstanceConfig, parts: { log: RunLog; ticker: SecondTicker; tally: Tally; stop: () => Promise<void> }): void {
  report('ready', { instance: config.instanceId, pid: process.pid });
  process.once('SIGTERM', () => {
    const began = Date.now();
    parts.ticker.stop();
    parts
      .stop()
      .then(() => {
        const result: InstanceResult = {
          instanceId: config.instanceId,
          pid: process.pid,
          slots: parts.log.slots(),
          ticks: parts.ticker.ticks,
          events: parts.tally.counts,
          stopMs: Date.now() - began,
        };
        reportThenExit('result', { result }, 0);
      })
      .catch((error: unknown) => fail(error));
  });
}

export function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
