import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PostgresBackend,
  postgresBackendMigrationScript,
  postgresBackendModule,
  PostgresLock,
  postgresLockMigrationScript,
} from 'schedkit/postgres';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { jobUpsert, rejection, wait } from '../helpers/fixtures.js';
import { postgresInstance } from '../helpers/postgres-instance.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

/**
 * SPEC §10/§13, issue 14: on PostgreSQL every value is a bound parameter and
 * the schema name is the one thing in statement text, checked, never escaped.
 *
 * - Through the scheduler, names, tenants, lock keys, rate keys and run ids
 *   use their whole charset, and params and error texts hold SQL, dollar
 *   quotes and backslashes: all read back unchanged. NUL, which PostgreSQL
 *   text cannot hold, reads back unchanged in params (JSON escapes it); in
 *   an error text it is stored as U+FFFD; in a lock resource it is refused.
 * - The same SQL outside the charset is refused with the typed error, and no
 *   stored row changes.
 * - Below the scheduler, the backend contract takes any string: keys,
 *   tenants, run ids, instance ids and error texts that read as SQL are
 *   stored and read back byte for byte; so are lock resources.
 * - Every table is still there afterwards.
 */

let server: PostgresServer;
let url = '';
let admin: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  url = (await server.createDatabase('pgsec')).url;
  admin = new pg.Pool({ connectionString: url, max: 2 });
  // pool.end() resolves before its connections are closed: one closing when the server stops gets 57P01.
  admin.on('error', () => undefined);
}, 60_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.stop();
});

const freshSchema = (): string => `sec_${randomBytes(5).toString('hex')}`;

/** Strings that would change a statement if they were ever put in its text. */
function sqlStrings(schema: string): string[] {
  return [
    `x'; DROP TABLE ${schema}.jobs; --`,
    `x'); DELETE FROM "${schema}".runs; SELECT ('`,
    `$$; DROP SCHEMA ${schema} CASCADE; $$`,
    `$fn$ $schedkit$ $1 $2::text`,
    `back\\slash \\' \\\\ E'\\x41' \\N`,
    `" OR ""=""; -- /* block */ ;`,
    `%s %d \t tab \r\n line`,
    `é ☃ 😀 \u200b`,
  ];
}

const TABLES = ['heard', 'history', 'instances', 'jobs', 'lock_leases', 'lock_waiters', 'rate_starts', 'runs', 'schedkit_migrations', 'trigger_ids'];

async function tablesOf(schema: string): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema]);
  return rows.map((row) => row.name);
}

/**
 * Every row of the tables a refused call could change, as JSON text, sorted;
 * without what moves on its own while a scheduler runs (instance heartbeats,
 * `last_seen_at`).
 */
async function storedRows(schema: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of ['jobs', 'runs', 'trigger_ids', 'history', 'rate_starts', 'lock_leases', 'lock_waiters', 'schedkit_migrations']) {
    const { rows } = await admin.query<{ row: string }>(`SELECT (to_jsonb(t) - 'last_seen_at')::text AS row FROM "${schema}".${table} t`);
    out[table] = rows.map((r) => r.row).sort();
  }
  return out;
}

describe('PostgreSQL: every value is a bound parameter', () => {
  it('the scheduler stores and reads back names, tenants, lock keys and run ids of the whole charset, and params and errors holding SQL', async () => {
    const schema = freshSchema();
    const { scheduler, close } = await postgresInstance({ connection: { connectionString: url }, schema });
    try {
      const [name, tenantId, lockKey, rateKey, id] = ['a.b:c-d_E9', 't-1:x.y_Z', 'grp:1.x-y_Z', 'rate:1.x-y_Z', 'run:1.a-b_C'];
      const values = sqlStrings(schema);
      const params = { values, keyed: Object.fromEntries(values.map((v, i) => [v, i])), nul: 'a\u0000b' };
      const message = values.join(' | ');
      const seen: unknown[] = [];
      await scheduler.register({
        name,
        tenantId,
        lockKey,
        rateLimit: { key: rateKey, max: 100, perMs: 60_000 },
        retry: false,
        handler: (ctx) => {
          seen.push(ctx.params);
          throw new Error(message);
        },
      });
      await scheduler.start();
      expect(await scheduler.trigger(name, { tenantId, id, params })).toMatchObject({ id, name, tenantId, created: true });
      await expect.poll(() => scheduler.history(name, { tenantId }), { timeout: 10_000 }).toHaveLength(1);

      expect(seen).toEqual([params]);
      const [entry] = await scheduler.history(name, { tenantId });
      expect(entry).toMatchObject({ id, kind: 'trigger', outcome: 'failed', error: message });
      expect(await scheduler.getRun(id, { tenantId })).toMatchObject({ id, name, tenantId, state: 'done', params });
      expect(await scheduler.getJob(name, { tenantId })).toMatchObject({ name, tenantId, lastError: message });
      // The rows themselves, read with plain SQL.
      const { rows } = await admin.query(
        `SELECT j.name, j.tenant, j.rate_key, j.last_error, r.id, r.params FROM "${schema}".jobs j JOIN "${schema}".runs r ON r.job_key = j.key`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ name, tenant: tenantId, rate_key: rateKey, last_error: message, id });
      expect(JSON.parse(rows[0].params as string)).toEqual(params);
      const leases = await admin.query(`SELECT resource FROM "${schema}".lock_leases`);
      expect(leases.rows).toEqual([{ resource: `group:${lockKey}` }]);
      expect(await tablesOf(schema)).toEqual(TABLES);
    } finally {
      await close();
    }
  });

  it('an error text holding NUL, which PostgreSQL text cannot hold, is recorded with U+FFFD in its place, and the run is not run again', async () => {
    const schema = freshSchema();
    const { scheduler, close } = await postgresInstance({ connection: { connectionString: url }, schema, config: { lockTtlMs: 1_000, lockRefreshMs: 300 } });
    try {
      let calls = 0;
      await scheduler.register({
        name: 'nul',
        retry: false,
        handler: () => {
          calls++;
          throw new Error('before\u0000after');
        },
      });
      await scheduler.start();
      await scheduler.trigger('nul', { id: 'n1' });
      await expect.poll(() => scheduler.history('nul'), { timeout: 10_000 }).toHaveLength(1);
      expect(await scheduler.history('nul')).toMatchObject([{ id: 'n1', outcome: 'failed', error: 'before\uFFFDafter' }]);
      // Past the run's lease: an outcome never recorded would have had the run reaped as stalled and run again.
      await wait(1_500);
      expect(calls).toBe(1);
      expect(await scheduler.history('nul')).toHaveLength(1);
    } finally {
      await close();
    }
  });

  describe('SQL outside the charset is refused with the typed error, and nothing stored changes', () => {
    let schema = '';
    let scheduler: Scheduler;
    let close: () => Promise<void>;
    let x = '';
    beforeAll(async () => {
      schema = freshSchema();
      x = `x'; DROP TABLE ${schema}.jobs; --`;
      ({ scheduler, close } = await postgresInstance({ connection: { connectionString: url }, schema }));
      await scheduler.register({ name: 'report', tenantId: 'acme', handler: () => {} });
      await scheduler.start();
      await scheduler.trigger('report', { tenantId: 'acme', id: 'later', at: new Date(Date.now() + 3_600_000), params: { n: 1 } });
    });
    afterAll(async () => {
      await close?.();
    });

    const handler = (): void => {};
    const rows: Array<[string, (s: Scheduler) => Promise<unknown>, string]> = [
      ['register: name', (s) => s.register({ name: x, handler }), 'E_INVALID_JOB'],
      ['register: tenantId', (s) => s.register({ name: 'report2', tenantId: x, handler }), 'E_INVALID_JOB'],
      ['register: lockKey', (s) => s.register({ name: 'report3', lockKey: x, handler }), 'E_INVALID_JOB'],
      ['register: rateLimit.key', (s) => s.register({ name: 'report4', rateLimit: { key: x, max: 1, perMs: 1_000 }, handler }), 'E_INVALID_JOB'],
      ['trigger: name', (s) => s.trigger(x), 'E_INVALID_ARGUMENT'],
      ['trigger: tenantId', (s) => s.trigger('report', { tenantId: x }), 'E_INVALID_ARGUMENT'],
      ['trigger: id', (s) => s.trigger('report', { tenantId: 'acme', id: x }), 'E_INVALID_ARGUMENT'],
      ['getRun: id', (s) => s.getRun(x, { tenantId: 'acme' }), 'E_INVALID_ARGUMENT'],
      ['cancel: id', (s) => s.cancel(x, { tenantId: 'acme' }), 'E_INVALID_ARGUMENT'],
      ['reschedule: id', (s) => s.reschedule(x, { tenantId: 'acme', at: new Date(Date.now() + 7_200_000) }), 'E_INVALID_ARGUMENT'],
      ['listRuns: tenantId', (s) => s.listRuns({ tenantId: x }), 'E_INVALID_ARGUMENT'],
      ['pause: name', (s) => s.pause(x), 'E_INVALID_ARGUMENT'],
      ['resume: tenantId', (s) => s.resume('report', { tenantId: x }), 'E_INVALID_ARGUMENT'],
      ['remove everywhere: name', (s) => s.remove(x, { everywhere: true }), 'E_INVALID_ARGUMENT'],
      ['getJob: tenantId', (s) => s.getJob('report', { tenantId: x }), 'E_INVALID_ARGUMENT'],
      ['listJobs: tenantId', (s) => s.listJobs({ tenantId: x }), 'E_INVALID_ARGUMENT'],
      ['history: name', (s) => s.history(x), 'E_INVALID_ARGUMENT'],
    ];

    it.each(rows)('%s', async (_label, call, code) => {
      const before = await storedRows(schema);
      expect(before.jobs).toHaveLength(1);
      const error = await rejection(call(scheduler));
      expect(error).toBeInstanceOf(SchedkitError);
      expect((error as SchedkitError).code).toBe(code);
      expect(await storedRows(schema)).toEqual(before);
      expect(await tablesOf(schema)).toEqual(TABLES);
    });
  });

  it('the backend contract binds any string: job keys, names, tenants, run ids, instance ids, rate keys, params and error texts', async () => {
    const schema = freshSchema();
    const backend = new PostgresBackend({ connectionString: url, schema });
    await backend.connect();
    try {
      const values = sqlStrings(schema);
      const now = await backend.time();
      for (const [i, value] of values.entries()) {
        const key = `${value}/${value}`;
        const upserted = await backend.upsertJobs([
          jobUpsert(key, { name: value, tenantId: value, definitionHash: value, rateLimit: { key: value, max: 10, perMs: 60_000 } }),
        ]);
        expect(upserted[0]!.stored).toMatchObject({ key, name: value, tenantId: value, definitionHash: value, rateLimit: { key: value } });
        expect((await backend.listJobs({ tenantId: value })).map((job) => job.key)).toEqual([key]);

        const [claim] = await backend.claimSlots([
          { key, slot: now - 1_000 * (i + 1), runId: value, instanceId: value, leaseMs: 60_000, definitionHash: value, overlap: 'skip', nextRunAt: null, requeueOnStall: false, maxAttempts: 1 },
        ]);
        if (claim?.status !== 'claimed') throw new Error(`expected claimed, got ${claim?.status}`);
        expect(claim.run.runId).toBe(value);
        const ref = { key, id: claim.run.id, fencingToken: claim.run.fencingToken };
        expect(await backend.heartbeat([ref], 60_000)).toEqual([true]);
        expect(await backend.finishRuns([{ ...ref, instanceId: value, outcome: 'failed', error: value, durationMs: 1 }])).toEqual([true]);
        expect(await backend.history(key, 10)).toMatchObject([{ runId: value, error: value, instanceId: value, outcome: 'failed' }]);

        const params = JSON.stringify({ value, nul: '\u0000' });
        const { created } = await backend.enqueueRun({ key, id: value, kind: 'trigger', dueAt: now + 3_600_000, params, maxAttempts: 1 });
        expect(created).toBe(true);
        expect(await backend.getRun({ id: value, tenantId: value })).toMatchObject({ id: value, key, tenantId: value, params });
        expect((await backend.listRuns({ tenantId: value, limit: 10 })).runs.map((run) => run.id)).toEqual([value]);
        expect((await backend.rescheduleRun({ key, id: value, instanceId: value, at: now + 7_200_000 })).status).toBe('rescheduled');
        expect(await backend.setPaused(key, true)).toBe(true);
        expect((await backend.getJob(key))?.paused).toBe(true);
      }
      const { rows } = await admin.query<{ key: string; name: string; tenant: string }>(`SELECT key, name, tenant FROM "${schema}".jobs`);
      expect(rows.map((row) => row.name).sort()).toEqual([...values].sort());
      expect(rows.every((row) => row.key === `${row.name}/${row.name}` && row.tenant === row.name)).toBe(true);
      // Slot runs are deleted once finished; the one-off runs stay, with their params as sent.
      const runs = await admin.query<{ id: string; params: string }>(`SELECT id, params FROM "${schema}".runs`);
      const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      expect(runs.rows.sort(byId)).toEqual(values.map((value) => ({ id: value, params: JSON.stringify({ value, nul: '\u0000' }) })).sort(byId));
      expect(await tablesOf(schema)).toEqual(TABLES.filter((t) => !t.startsWith('lock_')));
      for (const value of values) expect((await backend.cancelRun({ key: `${value}/${value}`, id: value, instanceId: value, abort: false })).status).toBe('cancelled');
      for (const value of values) expect(await backend.removeJob(`${value}/${value}`)).toBe(true);
      expect((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".jobs`)).rows).toEqual([{ n: 0 }]);
    } finally {
      await backend.close();
    }
  });

  it('the lock takes resources that read as SQL as plain names: acquire, wait, extend, release, using; NUL is refused', async () => {
    const schema = freshSchema();
    const [a, b] = [new PostgresLock({ connectionString: url, schema }), new PostgresLock({ connectionString: url, schema })];
    try {
      const resources = sqlStrings(schema);
      for (const resource of resources) {
        const lease = (await a.acquire(resource, { ttlMs: 5_000 }))!;
        expect(lease.resource).toBe(resource);
        expect(await b.acquire(resource, { ttlMs: 5_000 })).toBeNull();
        await lease.extend(10_000);
        const waiting = b.acquire(resource, { ttlMs: 5_000, waitMs: 5_000 });
        await lease.release();
        const next = (await waiting)!;
        expect(next.fencingToken).toBe(lease.fencingToken + 1);
        await next.release();
        expect(await a.using(resource, { ttlMs: 5_000 }, (_signal, token) => token)).toBe(next.fencingToken + 1);
      }
      // PostgreSQL text cannot hold NUL: refused as bad input, like a name too long to index.
      for (const call of [() => a.acquire('a\u0000b', { ttlMs: 1_000 }), () => a.using('a\u0000b', { ttlMs: 1_000 }, () => 1)]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(SchedkitError);
        expect(error).toMatchObject({ code: 'E_INVALID_ARGUMENT', message: expect.stringMatching(/resource.*NUL/) });
      }
      const { rows } = await admin.query<{ resource: string; fence: string }>(`SELECT resource, fence FROM "${schema}".lock_leases`);
      expect(rows.map((row) => row.resource).sort()).toEqual([...resources].sort());
      expect(rows.every((row) => Number(row.fence) === 3)).toBe(true);
      expect(await tablesOf(schema)).toEqual(['lock_leases', 'lock_waiters', 'schedkit_migrations']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('the schema option takes a plain identifier only (E_CONFIG, before any connection)', () => {
  const bad = [
    'x"; DROP SCHEMA public CASCADE; --',
    "x'; DROP TABLE jobs; --",
    'schedkit.jobs',
    '"quoted"',
    'Upper',
    'has space',
    'dash-ed',
    '1starts_with_digit',
    '',
    'a'.repeat(64),
    'caf\u00e9',
    'nul\u0000',
    '$1',
  ];
  const configError = (call: () => unknown): void => {
    let error: unknown;
    try {
      call();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SchedkitError);
    expect((error as SchedkitError).code).toBe('E_CONFIG');
    expect((error as Error).message).toMatch(/schema/);
  };

  it.each(bad.map((schema) => [JSON.stringify(schema), schema]))('%s', async (_label, schema) => {
    const schemasBefore = (await admin.query('SELECT nspname FROM pg_namespace ORDER BY 1')).rows;
    configError(() => new PostgresBackend({ connectionString: url, schema }));
    configError(() => new PostgresLock({ connectionString: url, schema }));
    configError(() => postgresBackendModule({ connectionString: url, schema }));
    configError(() => postgresBackendMigrationScript(schema));
    configError(() => postgresLockMigrationScript(schema));
    expect((await admin.query('SELECT nspname FROM pg_namespace ORDER BY 1')).rows).toEqual(schemasBefore);
  });

  it('63 characters of [a-z0-9_] are taken, and quoted in the scripts', () => {
    const longest = `s${'a_9'.repeat(20)}xy`;
    expect(longest).toHaveLength(63);
    expect(new PostgresBackend({ connectionString: url, schema: longest }).schema).toBe(longest);
    expect(() => new PostgresLock({ connectionString: url, schema: longest })).not.toThrow();
    expect(postgresBackendMigrationScript(longest)).toContain(`CREATE SCHEMA IF NOT EXISTS "${longest}";`);
    expect(postgresLockMigrationScript(longest)).toContain(`CREATE TABLE "${longest}".lock_leases`);
  });
});
