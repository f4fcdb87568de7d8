import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlotClaim } from '../../src/backend/backend.js';
import { KeyTable } from '../../src/backend/key-table.js';
import { FILTER_CHUNK, RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { jobUpsert } from '../helpers/fixtures.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';

/**
 * What one Redis script call costs must not grow with runs it cannot claim
 * (a paused job's backlog, exclusive catch-ups waiting for the job's active
 * run), and no call may carry an unbounded argument list (a filter of every
 * registered job key). Measured on a real redis-server: commands executed
 * per call (INFO commandstats counts the ones a script runs) and time.
 */

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await admin.connect();
}, 30_000);

afterAll(async () => {
  await admin?.quit().catch(() => undefined);
  await server?.stop();
});

/** Every command Redis executed since the last reset, scripts' inner calls included (INFO itself excluded). */
async function commandsSinceReset(): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'config|resetstat') total += Number(match[2]);
  }
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function queueClaim(key: string, slot: number): SlotClaim {
  return {
    key, slot, runId: randomUUID(), instanceId: 'i', leaseMs: 600_000, definitionHash: 'h1',
    overlap: 'queue', nextRunAt: slot + 1, requeueOnStall: false, maxAttempts: 1,
  };
}

/** A namespace with one claimable-looking job, and optionally `parked` runs no poll can claim. */
async function namespace(parked: number): Promise<{ backend: RedisBackend; poll: () => Promise<void> }> {
  const backend = new RedisBackend({ connection: { url: server.url }, prefix: randomPrefix('cost') });
  await backend.connect();
  await backend.upsertJobs([jobUpsert('/paused'), jobUpsert('/exclusive'), jobUpsert('/free')]);
  const now = await backend.time();
  if (parked > 0) {
    const half = parked / 2;
    // A paused job's backlog: a quarter enqueued before the pause, the rest while paused.
    const enqueue = (i: number) =>
      backend.enqueueRun({ key: '/paused', id: `p${i}`, kind: 'trigger', dueAt: now - 1_000_000 + i, params: undefined, maxAttempts: 1 });
    const before = Math.floor(half / 2);
    for (let i = 0; i < half; i += 2_000) {
      if (i === before - (before % 2_000)) await backend.setPaused('/paused', true);
      await Promise.all(Array.from({ length: Math.min(2_000, half - i) }, (_, j) => enqueue(i + j)));
    }
    await backend.setPaused('/paused', true);
    // Exclusive catch-ups behind an active exclusive run (lease far away).
    const first = await backend.claimSlot({ ...queueClaim('/exclusive', now - 1_000_000), overlap: 'skip' });
    expect(first.status).toBe('claimed');
    for (let i = 1; i <= half; i += 5_000) {
      const claims = Array.from({ length: Math.min(5_000, half + 1 - i) }, (_, j) => queueClaim('/exclusive', now - 1_000_000 + i + j));
      const results = await backend.claimSlots(claims);
      expect(results.every((r) => r.status === 'buffered')).toBe(true);
    }
  }
  const keys = KeyTable.of(['/paused', '/exclusive', '/free']);
  const poll = async () => {
    const result = await backend.claimDueRuns({ instanceId: 'i', leaseMs: 60_000, runIds: [randomUUID(), randomUUID()], keys });
    expect(result.runs).toEqual([]);
  };
  return { backend, poll };
}

/** Median ms and commands per poll over `calls` polls. */
async function measurePolls(poll: () => Promise<void>, calls: number): Promise<{ ms: number; commands: number }> {
  // Warm up: scripts cached, the filter copied, runs met for the first time dealt with.
  for (let i = 0; i < 40; i++) await poll();
  const times: number[] = [];
  await admin.config('RESETSTAT');
  const before = await commandsSinceReset();
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await poll();
    times.push(performance.now() - start);
  }
  const commands = (await commandsSinceReset()) - before;
  return { ms: median(times), commands: commands / calls };
}

describe('Redis script costs', () => {
  it('a poll costs the same with 30,000 runs it cannot claim (paused backlog, exclusive catch-ups) as with none', async () => {
    const empty = await namespace(0);
    const parked = await namespace(30_000);
    try {
      const base = await measurePolls(empty.poll, 15);
      const loaded = await measurePolls(parked.poll, 15);
      console.info(
        `per poll: no held runs ${base.commands} commands, ${base.ms.toFixed(2)} ms; ` +
          `30,000 held runs ${loaded.commands} commands, ${loaded.ms.toFixed(2)} ms`,
      );
      // Commands per call are the robust measure: flat, not one read per waiting run.
      expect(loaded.commands).toBeLessThanOrEqual(base.commands + 2);
      // Time, generously: within 3x or a few ms of the empty namespace.
      expect(loaded.ms).toBeLessThanOrEqual(Math.max(3 * base.ms, base.ms + 5));
    } finally {
      await Promise.all([empty.backend.close(), parked.backend.close()]);
    }
  }, 120_000);

  it('never sends a filter of 100,000 job keys in one script call', async () => {
    const client = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    const largest = { args: 0 };
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
      if (command.name === 'evalsha' || command.name === 'eval') largest.args = Math.max(largest.args, command.args.length);
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof client.sendCommand;
    const prefix = randomPrefix('filter');
    const backend = new RedisBackend({ client, prefix });
    try {
      await backend.connect();
      await backend.upsertJobs([jobUpsert('/k0')]);
      const keys = KeyTable.of(Array.from({ length: 100_000 }, (_, i) => `/k${i}`));
      const now = await backend.time();
      await backend.enqueueRun({ key: '/k0', id: 'due', kind: 'trigger', dueAt: now - 10, params: undefined, maxAttempts: 1 });
      const claim = () => backend.claimDueRuns({ instanceId: 'i', leaseMs: 60_000, runIds: [randomUUID()], keys });
      expect((await claim()).runs.map((r) => r.id)).toEqual(['due']);
      // The filter copy lost (expired, or Redis lost its data): sent again in full, still in bounded calls.
      for (const key of await admin.keys(`{${prefix}}:filter:*`)) await admin.del(key);
      await backend.enqueueRun({ key: '/k0', id: 'again', kind: 'trigger', dueAt: now - 5, params: undefined, maxAttempts: 1 });
      expect((await claim()).runs.map((r) => r.id)).toEqual(['again']);
      expect(largest.args).toBeGreaterThan(0);
      // The chunk of keys, plus the script's sha, key count, keys and fixed arguments.
      expect(FILTER_CHUNK).toBeLessThanOrEqual(5_000);
      expect(largest.args).toBeLessThanOrEqual(FILTER_CHUNK + 20);
    } finally {
      await backend.close();
      await client.quit().catch(() => undefined);
    }
  }, 60_000);
});
