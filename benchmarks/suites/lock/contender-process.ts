import { Redis } from 'ioredis';
import { report, scriptConfig } from '../../lib/processes.js';
import { contend, type ContendOutcome, type ContendSpec } from './contend.js';
import { openLock, type BenchLock, type LockSpec } from './locks.js';

/**
 * One contender process of the lock benchmark (started by `ContenderPool`).
 * It takes orders on a Redis pub/sub control channel and answers in JSON
 * lines on stdout:
 *   {type:'prepare', run, lock, contend} → opens the lock → `prepared` (or `failed`)
 *   {type:'go', run, startAt}            → runs the contenders → `waits`, `intervals` chunks, then `done`
 *   {type:'exit'}                        → closes everything and exits
 * It exits by itself when the process that started it is gone, or after
 * MAX_LIFE_MS.
 */

export interface ContenderProcessConfig {
  controlUrl: string;
  channel: string;
  index: number;
}

export type ControlMessage =
  | { type: 'prepare'; run: string; lock: LockSpec; contend: ContendSpec }
  | { type: 'go'; run: string; startAt: number }
  | { type: 'exit' };

/** Values per JSON line when a result is sent in chunks. */
export const CHUNK = 10_000;

const MAX_LIFE_MS = 60 * 60_000;
const PARENT_CHECK_MS = 1_000;

const config = scriptConfig<ContenderProcessConfig>();
const control = new Redis(config.controlUrl, { protocol: 2, connectionName: 'bench:lock-control' });
control.on('error', () => undefined);

let prepared: { run: string; lock: BenchLock; contend: ContendSpec } | undefined;
let queue: Promise<void> = Promise.resolve();

const lifeTimer = setTimeout(() => void shutdown(3), MAX_LIFE_MS);
// Orphaned (the suite's process died without stopping us): the parent pid changes.
const parent = process.ppid;
const parentTimer = setInterval(() => {
  if (process.ppid !== parent) void shutdown(2);
}, PARENT_CHECK_MS);

async function shutdown(code: number): Promise<void> {
  clearTimeout(lifeTimer);
  clearInterval(parentTimer);
  await prepared?.lock.close().catch(() => undefined);
  prepared = undefined;
  control.disconnect();
  process.exit(code);
}

function sendOutcome(run: string, outcome: ContendOutcome): void {
  for (let i = 0; i < outcome.waits.length; i += CHUNK) report('waits', { run, index: config.index, values: outcome.waits.slice(i, i + CHUNK) });
  const iv = outcome.intervals;
  for (let i = 0; i < iv.key.length; i += CHUNK) {
    const part = (a: number[]): number[] => a.slice(i, i + CHUNK);
    report('intervals', {
      run,
      index: config.index,
      key: part(iv.key),
      enter: part(iv.enter),
      leave: part(iv.leave),
      token: part(iv.token),
      flag: part(iv.flag),
    });
  }
  report('done', {
    run,
    index: config.index,
    counts: outcome.counts,
    pendingWaits: outcome.pendingWaits,
    counterViolations: outcome.counterViolations,
    acquireErrors: outcome.acquireErrors,
    gaveUp: outcome.gaveUp,
    releaseErrors: outcome.releaseErrors,
    firstError: outcome.firstError ?? null,
    stuck: outcome.stuck,
    cpuMs: outcome.cpuMs,
    waitChunks: Math.ceil(outcome.waits.length / CHUNK),
    intervalChunks: Math.ceil(iv.key.length / CHUNK),
  });
}

async function handle(message: ControlMessage): Promise<void> {
  switch (message.type) {
    case 'prepare': {
      await prepared?.lock.close().catch(() => undefined);
      prepared = undefined;
      try {
        prepared = { run: message.run, lock: await openLock(message.lock), contend: message.contend };
        report('prepared', { run: message.run, index: config.index });
      } catch (error) {
        report('failed', { run: message.run, index: config.index, error: String(error) });
      }
      return;
    }
    case 'go': {
      const current = prepared;
      if (current === undefined || current.run !== message.run) {
        report('failed', { run: message.run, index: config.index, error: 'go before prepare' });
        return;
      }
      prepared = undefined;
      try {
        const outcome = await contend(current.lock, current.contend, message.startAt);
        await current.lock.close().catch(() => undefined);
        sendOutcome(message.run, outcome);
      } catch (error) {
        await current.lock.close().catch(() => undefined);
        report('failed', { run: message.run, index: config.index, error: String(error) });
      }
      return;
    }
    case 'exit':
      await shutdown(0);
  }
}

control.on('message', (channel: string, text: string) => {
  if (channel !== config.channel) return;
  const message = JSON.parse(text) as ControlMessage;
  // One order at a time, in arrival order.
  queue = queue.then(() => handle(message)).catch((error: unknown) => report('failed', { run: 'unknown', index: config.index, error: String(error) }));
});

await control.subscribe(config.channel);
report('listening', { index: config.index });
