import { NodeProcess, type LogLine } from '../helpers/node-process.js';
import type { WorkerSpec } from './worker.js';

/** Worker processes started by a test file, killed by pid when it ends. */
export class Workers {
  readonly all: NodeProcess[] = [];

  /** Starts one worker; resolves once it printed `ready` (at most `timeoutMs`). */
  async start(spec: WorkerSpec, timeoutMs = 30_000): Promise<NodeProcess> {
    const worker = new NodeProcess(spec.instanceId, 'test/cluster/worker.ts', { SCHEDKIT_WORKER: JSON.stringify(spec) });
    this.all.push(worker);
    await worker.waitForLine('ready', {}, timeoutMs);
    return worker;
  }

  /** Every line with this message, from every worker, in arrival order per worker. */
  lines(message: string): LogLine[] {
    return this.all.flatMap((w) => w.find(message));
  }

  /** SIGTERM to every live worker, then waits for their exit (graceful stop). */
  async stopAll(timeoutMs = 20_000): Promise<void> {
    for (const w of this.all) if (w.alive) w.signal('SIGTERM');
    await Promise.all(this.all.map((w) => w.waitForExit(timeoutMs).catch(() => w.kill())));
  }

  /** SIGKILL to every worker still alive (afterEach / afterAll safety net). */
  async killAll(): Promise<void> {
    await Promise.all(this.all.map((w) => w.kill()));
  }
}

/** `job@slot` keys that occur more than once among `start` lines of first attempts. */
export function duplicateSlots(starts: LogLine[]): string[] {
  const seen = new Map<string, number>();
  for (const s of starts) {
    if (s.attempt !== 1) continue;
    const key = `${String(s.job)}@${String(s.slot)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

/** Resolves after `ms` of real time (the workers run on real time). */
export const elapse = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 20 ms until it returns a value, at most `timeoutMs`; returns that value. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await elapse(20);
  }
}
