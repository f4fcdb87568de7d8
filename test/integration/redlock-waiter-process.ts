/**
 * A second process for the lock's cross-process tests
 * (redlock-grant.test.ts): its own RedlockLock on the master the test names,
 * configured by the JSON in REDLOCK_WAITER. For each of its turns `t` it
 * starts a waiting acquire once the resource's queue holds `t` tickets, so
 * the test decides the arrival order across both processes; it holds each
 * lock it gets for `holdMs`, then releases it. Its acquires ask for `ttlMs`
 * (default 10 s) and wait up to `waitMs` (default 20 s). One JSON line per event on
 * stdout: `ready`, `queued` {turn}, `acquired` {turn, token}, `released`
 * {turn}, `failed` {error}. Exits 0 once every turn has been served.
 */
import { Redis } from 'ioredis';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';

export interface WaiterProcessConfig {
  url: string;
  prefix: string;
  resource: string;
  turns: number[];
  holdMs: number;
  ttlMs?: number;
  waitMs?: number;
}

const config = JSON.parse(process.env.REDLOCK_WAITER ?? '{}') as WaiterProcessConfig;
const report = (message: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ message, ...fields })}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const lock = new RedlockLock({ masters: [{ url: config.url }], prefix: config.prefix });
const inspector = new Redis(config.url, { maxRetriesPerRequest: 0 });
const queueKey = `{${config.prefix}}:lock-queue:${config.resource}`;

async function queueLength(length: number): Promise<void> {
  while ((await inspector.zcard(queueKey)) !== length) await sleep(2);
}

try {
  await lock.connect();
  report('ready');
  const served: Array<Promise<void>> = [];
  for (const turn of config.turns) {
    await queueLength(turn);
    served.push(
      lock.acquire(config.resource, { ttlMs: config.ttlMs ?? 10_000, waitMs: config.waitMs ?? 20_000 }).then(async (lease) => {
        if (lease === null) throw new Error(`turn ${turn}: not acquired`);
        report('acquired', { turn, token: lease.fencingToken });
        await sleep(config.holdMs);
        await lease.release();
        report('released', { turn });
      }),
    );
    await queueLength(turn + 1);
    report('queued', { turn });
  }
  await Promise.all(served);
  await lock.close();
  inspector.disconnect();
  process.exit(0);
} catch (error) {
  report('failed', { error: String(error) });
  process.exit(1);
}
