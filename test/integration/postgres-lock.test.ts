import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { POLL_MS } from '../../src/lock/postgres/lock-waiter.js';
import { PostgresLock, postgresLockMigrationScript } from 'schedkit/postgres';
import { rejection, wait } from '../helpers/fixtures.js';
import { freePort, LOOPBACK } from '../helpers/loopback.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

let server: PostgresServer | undefined;
let url = '';
let admin: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  url = (await server.createDatabase('pglock')).url;
  admin = new pg.Pool({ connectionString: url });
  // pool.end() resolves before its connections have closed: one still closing
  // when afterAll stops the server gets its 57P01, which must not crash the file.
  admin.on('error', () => undefined);
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

const schemaName = (): string => `lock_${randomBytes(5).toString('hex')}`;

/** Runs `body` with fresh locks on one fresh schema, closing them after. */
async function withLocks(count: number, body: (locks: PostgresLock[], schema: string) => Promise<void>): Promise<void> {
  const schema = schemaName();
  const locks = Array.from({ length: count }, () => new PostgresLock({ connectionString: url, schema }));
  try {
    for (const lock of locks) await lock.connect();
    await body(locks, schema);
  } finally {
    await Promise.all(locks.map((lock) => lock.close()));
  }
}

async function connectionsNamed(name: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
  return rows[0]!.n;
}

describe('PostgresLock', () => {
  it('keeps fencing tokens increasing across release, expiry and lock instances', async () => {
    await withLocks(2, async ([a, b]) => {
      const first = (await a!.acquire('fence', { ttlMs: 5_000 }))!;
      await first.release();
      const second = (await b!.acquire('fence', { ttlMs: 100 }))!;
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      await wait(200); // expires unreleased
      const third = (await a!.acquire('fence', { ttlMs: 5_000 }))!;
      expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
      await third.release();
    });
  });

  it('takes a resource that reads as SQL as a plain name', async () => {
    await withLocks(2, async ([a, b], schema) => {
      const names = [`x'); DROP TABLE ${schema}.lock_leases; --`, `${schema}:other`, '$1 \\ " \u00e9 \u{1F512}'];
      for (const name of names) {
        const lease = (await a!.acquire(name, { ttlMs: 5_000 }))!;
        expect(lease.resource).toBe(name);
        expect(await b!.acquire(name, { ttlMs: 5_000 })).toBeNull();
        // The wake-up payload carries the name too.
        const waiting = b!.acquire(name, { ttlMs: 5_000, waitMs: 3_000 });
        await wait(50);
        await lease.release();
        const next = await waiting;
        expect(next?.fencingToken).toBeGreaterThan(lease.fencingToken);
        await next!.release();
      }
      const { rows } = await admin.query<{ resource: string }>(`SELECT resource FROM "${schema}".lock_leases ORDER BY resource`);
      expect(rows.map((r) => r.resource).sort()).toEqual([...names].sort());
      // A name too long for a b-tree key is bad input, as for any lock, not a database error.
      expect(SchedkitError.is(await rejection(a!.acquire('\u4e00'.repeat(1_000), { ttlMs: 1_000 })), 'E_INVALID_ARGUMENT')).toBe(true);
    });
  });

  it('wakes a waiter of another lock instance by NOTIFY, well before its poll', async () => {
    await withLocks(2, async ([holderLock, waiterLock]) => {
      const holder = (await holderLock!.acquire('notify', { ttlMs: 10_000 }))!;
      let wonAt = 0;
      const waiting = waiterLock!.acquire('notify', { ttlMs: 5_000, waitMs: 8_000 }).then((lease) => {
        wonAt = Date.now();
        return lease;
      });
      // The waiter has queued and tried: it sleeps until its poll.
      await wait(300);
      const releasedAt = Date.now();
      await holder.release();
      const lease = await waiting;
      expect(lease).not.toBeNull();
      expect(wonAt - releasedAt).toBeLessThan(POLL_MS / 4);
      await lease!.release();
    });
  });

  it('ends the pool it made on close(), never a pool it was given', async () => {
    const owned = `owned_${randomBytes(3).toString('hex')}`;
    const mine = new PostgresLock({ connectionString: url, poolOptions: { application_name: owned }, schema: schemaName() });
    const held = (await mine.acquire('close', { ttlMs: 5_000 }))!;
    // A wait opens the listening connection too.
    expect(await mine.acquire('close', { ttlMs: 5_000, waitMs: 50 })).toBeNull();
    await held.release();
    expect(await connectionsNamed(owned)).toBeGreaterThan(0);
    await mine.close();
    await expect.poll(() => connectionsNamed(owned), { timeout: 5_000 }).toBe(0);
    expect(SchedkitError.is(await rejection(mine.acquire('close', { ttlMs: 5_000 })), 'E_NOT_STARTED')).toBe(true);

    const pool = new pg.Pool({ connectionString: url });
    try {
      const theirs = new PostgresLock({ pool, schema: schemaName() });
      const lease = (await theirs.acquire('close', { ttlMs: 5_000 }))!;
      expect(await theirs.acquire('close', { ttlMs: 5_000, waitMs: 50 })).toBeNull();
      await lease.release();
      await theirs.close();
      expect(pool.ended).toBe(false);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('with migrate: false, needs the tables the printed script creates', async () => {
    const schema = schemaName();
    const lock = new PostgresLock({ connectionString: url, schema, migrate: false });
    try {
      await expect(lock.acquire('script', { ttlMs: 1_000 })).rejects.toThrow(/does not exist/);
      await admin.query(postgresLockMigrationScript(schema));
      expect(await lock.acquire('script', { ttlMs: 1_000 })).not.toBeNull();
    } finally {
      await lock.close();
    }
  });

  it('rejects bad options with E_CONFIG, and an unreachable server with E_BACKEND_UNAVAILABLE', async () => {
    for (const options of [{ connectionString: url, schema: 'Bad-Name' }, { connectionString: '' }, { connectionString: url, migrate: 'yes' }]) {
      let error: unknown;
      try {
        new PostgresLock(options as never);
      } catch (thrown) {
        error = thrown;
      }
      expect(SchedkitError.is(error, 'E_CONFIG')).toBe(true);
    }
    const lock = new PostgresLock({ connectionString: `postgresql://postgres@${LOOPBACK}:${await freePort()}/postgres` });
    try {
      expect(SchedkitError.is(await rejection(lock.acquire('down', { ttlMs: 1_000 })), 'E_BACKEND_UNAVAILABLE')).toBe(true);
    } finally {
      await lock.close();
    }
  });
});
