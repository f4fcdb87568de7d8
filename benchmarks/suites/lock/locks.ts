import { Redis } from 'ioredis';
import Redlock, { ExecutionError } from 'redlock';
// schedkit as built (dist/) under `npm run bench` (benchmarks/tsconfig.dist.json), as users run it: peers are published JavaScript too.
import { RedlockLock } from 'schedkit';
import { HandWrittenLock, type HandWrittenRetry } from './hand-written-lock.js';

/**
 * The three locks the contention benchmark compares, behind one small
 * interface: each process opens one lock (one set of connections) shared by
 * all of its contenders, as an application would.
 */

export type Impl = 'schedkit' | 'hand-written' | 'redlock';

export const IMPLS: readonly Impl[] = ['schedkit', 'hand-written', 'redlock'];

/** The same TTL for every implementation (long enough never to expire during a hold). */
export const TTL_MS = 10_000;

/** How long schedkit's waiting acquire may wait (the run's abort signal ends it first). */
export const SCHEDKIT_WAIT_MS = 30_000;

/** The hand-written retry loop: 1-3 ms between attempts. */
export const HAND_WRITTEN_RETRY: HandWrittenRetry = { delayMs: 1, jitterMs: 2, maxAttempts: 100_000 };

/**
 * redlock's documented defaults (node_modules/redlock: driftFactor 0.01,
 * retryCount 10, retryDelay 200 ms, retryJitter 100 ms, i.e. 100–300 ms
 * between attempts), passed explicitly so the result file names them: a
 * peer is measured as its users get it. After the last attempt it rejects
 * (ExecutionError: "no lock granted"); the contender then asks again, its
 * wait still counting.
 */
export const REDLOCK_RETRY = { driftFactor: 0.01, retryCount: 10, retryDelay: 200, retryJitter: 100 } as const;

/** Longest time one redlock acquire retries before giving up: retryCount × (retryDelay + retryJitter). */
export const REDLOCK_RETRY_WINDOW_MS = REDLOCK_RETRY.retryCount * (REDLOCK_RETRY.retryDelay + REDLOCK_RETRY.retryJitter);

export interface LockSpec {
  impl: Impl;
  /** `redis://` URLs of the masters (the hand-written lock uses only the first). */
  urls: string[];
  /** Key prefix of this run: no two runs share a key. */
  prefix: string;
}

/** A lock held by a contender. */
export interface Holding {
  /** schedkit's fencing token; -1 for locks without one. */
  readonly token: number;
  release(): Promise<void>;
}

export interface BenchLock {
  /**
   * Takes the lock on `resource`, waiting (each implementation its own way)
   * while it is held. Null when `signal` aborted first or the implementation
   * gave up; rejects on errors.
   */
  acquire(resource: string, signal: AbortSignal): Promise<Holding | null>;
  close(): Promise<void>;
}

/** Baseline clients: plain ioredis, RESP2 like schedkit's own lock clients. */
async function baselineClient(url: string): Promise<Redis> {
  const client = new Redis(url, { protocol: 2, connectionName: 'bench:lock-baseline' });
  client.on('error', () => undefined);
  await client.ping();
  return client;
}

class SchedkitBenchLock implements BenchLock {
  constructor(private readonly lock: RedlockLock) {}

  async acquire(resource: string, signal: AbortSignal): Promise<Holding | null> {
    const lease = await this.lock.acquire(resource, { ttlMs: TTL_MS, waitMs: SCHEDKIT_WAIT_MS, signal });
    if (lease === null) return null;
    return { token: lease.fencingToken, release: () => lease.release() };
  }

  close(): Promise<void> {
    return this.lock.close();
  }
}

class HandWrittenBenchLock implements BenchLock {
  readonly #lock: HandWrittenLock;

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {
    this.#lock = new HandWrittenLock(client, TTL_MS, HAND_WRITTEN_RETRY);
  }

  async acquire(resource: string, signal: AbortSignal): Promise<Holding | null> {
    const hold = await this.#lock.acquire(`${this.prefix}:${resource}`, signal);
    if (hold === null) return null;
    return {
      token: -1,
      release: async () => {
        if (!(await this.#lock.release(hold))) throw new Error(`hand-written lock ${hold.key}: released a lock that was no longer ours`);
      },
    };
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

class RedlockBenchLock implements BenchLock {
  readonly #redlock: Redlock;

  constructor(
    private readonly clients: Redis[],
    private readonly prefix: string,
  ) {
    this.#redlock = new Redlock(clients, { ...REDLOCK_RETRY });
  }

  async acquire(resource: string, signal: AbortSignal): Promise<Holding | null> {
    if (signal.aborted) return null;
    try {
      // redlock's acquire cannot be cancelled: it retries until it holds the
      // lock or its retry window runs out.
      const lock = await this.#redlock.acquire([`${this.prefix}:${resource}`], TTL_MS);
      return {
        token: -1,
        release: async () => {
          await lock.release();
        },
      };
    } catch (error) {
      if (error instanceof ExecutionError) return null; // retry window exhausted: "no lock granted"
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.quit().catch(() => client.disconnect())));
  }
}

/** Opens (connects) one lock of `spec.impl`, and takes and gives back one lock so scripts are loaded before timing starts. */
export async function openLock(spec: LockSpec): Promise<BenchLock> {
  let lock: BenchLock;
  switch (spec.impl) {
    case 'schedkit': {
      const redlockLock = new RedlockLock({ masters: spec.urls.map((url) => ({ url })), prefix: spec.prefix });
      await redlockLock.connect();
      lock = new SchedkitBenchLock(redlockLock);
      break;
    }
    case 'hand-written':
      lock = new HandWrittenBenchLock(await baselineClient(spec.urls[0]!), spec.prefix);
      break;
    case 'redlock':
      lock = new RedlockBenchLock(await Promise.all(spec.urls.map(baselineClient)), spec.prefix);
      break;
  }
  try {
    const held = await lock.acquire('prime', new AbortController().signal);
    if (held === null) throw new Error(`${spec.impl}: could not take a free lock`);
    await held.release();
  } catch (error) {
    await lock.close();
    throw error;
  }
  return lock;
}
