import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The baseline of the lock benchmark: the lock people write by hand on one
 * Redis. `SET key token NX PX ttl` to take it, a Lua compare-and-delete to
 * give it back, and a retry loop with a short sleep plus jitter while it is
 * held (no queue, no wake-up: whoever polls at the right moment wins).
 */

/** `DEL` only when the key still holds our token (so an expired lock taken over by someone else is left alone). */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface HandWrittenRetry {
  /** Sleep between attempts while the lock is held. */
  delayMs: number;
  /** Plus a random 0..jitterMs (whole ms: Node timers have 1 ms resolution). */
  jitterMs: number;
  /** Gives up (returns null) after this many attempts. */
  maxAttempts: number;
}

export interface HandWrittenHold {
  readonly key: string;
  readonly token: string;
}

type ReleaseCommand = (key: string, token: string) => Promise<number>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class HandWrittenLock {
  readonly #release: ReleaseCommand;

  constructor(
    private readonly client: Redis,
    private readonly ttlMs: number,
    private readonly retry: HandWrittenRetry,
  ) {
    client.defineCommand('benchHandRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    const command = (client as unknown as { benchHandRelease: ReleaseCommand }).benchHandRelease;
    this.#release = (key, token) => command.call(client, key, token);
  }

  /** One `SET NX PX`: the hold, or null when someone else has it. */
  async tryAcquire(key: string): Promise<HandWrittenHold | null> {
    const token = randomBytes(16).toString('hex');
    const reply = await this.client.set(key, token, 'PX', this.ttlMs, 'NX');
    return reply === 'OK' ? { key, token } : null;
  }

  /** Retries until it holds the lock; null when `signal` aborts or the attempts run out. */
  async acquire(key: string, signal: AbortSignal): Promise<HandWrittenHold | null> {
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      const hold = await this.tryAcquire(key);
      if (hold !== null) return hold;
      if (signal.aborted) return null;
      await sleep(this.retry.delayMs + Math.floor(Math.random() * (this.retry.jitterMs + 1)));
      if (signal.aborted) return null;
    }
    return null;
  }

  /** True when the key was still ours and is now deleted. */
  async release(hold: HandWrittenHold): Promise<boolean> {
    return (await this.#release(hold.key, hold.token)) === 1;
  }
}
