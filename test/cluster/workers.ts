import { RedisBackend, SchedulerClient } from 'schedkit';
import { afterAll, beforeAll } from 'vitest';
import { NodeProcess, type LogLine } from '../helpers/node-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
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

/** The JSON log lines a worker wrote on stderr (its logger's output), in order. */
export function stderrLogLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((t) => t.startsWith('{'))
    .flatMap((t) => {
      try {
        return [JSON.parse(t) as LogLine];
      } catch {
        return [];
      }
    });
}

/** Lines on a worker's stderr that are not log lines (an uncaught error's stack would be one). */
export function stderrOtherLines(stderr: string): string[] {
  return stderr.split('\n').filter((t) => t.trim() !== '' && !t.startsWith('{'));
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

/** Polls the async `probe` every 50 ms until it returns a value, at most `timeoutMs`; returns that value. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await elapse(50);
  }
}

/** One run's handler as the workers printed it: where, and from its `start` to its `end` (this machine's clock). */
export interface RunSpan {
  job: string;
  id: string;
  slot: number;
  attempt: number;
  instance: string;
  start: number;
  end: number;
}

/** Pairs every `start` line with its `end` line (same instance, job, run id and attempt); runs without an end are left out. */
export function runSpans(starts: LogLine[], ends: LogLine[]): RunSpan[] {
  const endAt = new Map<string, number>();
  const key = (l: LogLine): string => `${String(l.instance)}|${String(l.job)}|${String(l.id)}|${String(l.attempt)}`;
  for (const e of ends) endAt.set(key(e), e.at as number);
  const spans: RunSpan[] = [];
  for (const s of starts) {
    const end = endAt.get(key(s));
    if (end === undefined) continue;
    spans.push({
      job: s.job as string,
      id: s.id as string,
      slot: s.slot as number,
      attempt: s.attempt as number,
      instance: s.instance as string,
      start: s.at as number,
      end,
    });
  }
  return spans;
}

/** The most instants (sorted or not) that fall in any window [t, t + windowMs) starting at one of them. */
export function mostInWindow(instants: readonly number[], windowMs: number): { count: number; from: number } {
  const sorted = [...instants].sort((a, b) => a - b);
  let best = { count: 0, from: Number.NaN };
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++;
    if (j - i > best.count) best = { count: j - i, from: sorted[i]! };
  }
  return best;
}

/** A `SchedulerClient` in the test process on the workers' Redis and prefix: it runs nothing, as a web process would not. */
export async function openClient(redisUrl: string, prefix: string): Promise<{ client: SchedulerClient; close(): Promise<void> }> {
  const backend = new RedisBackend({ connection: { url: redisUrl }, prefix });
  await backend.connect();
  const client = new SchedulerClient({ backend, config: { instanceId: 'test-client' } });
  return { client, close: () => backend.close() };
}

/**
 * A private redis-server and a set of worker processes for one test file:
 * the server starts before its tests; after them the workers are killed
 * (by pid) and the server stopped. Call it at the top level of the file.
 */
export function useCluster(): { readonly workers: Workers; readonly redis: RedisServer } {
  const workers = new Workers();
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await workers.killAll();
    await redis?.stop();
  });
  return {
    workers,
    get redis(): RedisServer {
      if (redis === undefined) throw new Error('the redis-server of this file is not started yet (use it inside a test)');
      return redis;
    },
  };
}
