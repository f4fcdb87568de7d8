import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBackend, postgresBackendMigrationScript, PostgresLock, postgresLockMigrationScript } from 'schedkit/postgres';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { jobUpsert, rejection } from '../helpers/fixtures.js';
import { postgresInstance } from '../helpers/postgres-instance.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

/**
 * SPEC §10/§13, issue 14: least privilege. A migration role (CONNECT and
 * CREATE on the database) makes the schema, either by `migrate: true` or by
 * running the two printed scripts; an application role with only the grants
 * of docs/postgres.md ("Grants", `appGrants` below is that list) runs a
 * whole scheduler cycle and the lock with `migrate: false`. It is no
 * superuser, owns nothing, logs in with a password (scram-sha-256), and
 * cannot change the schema. Without any one of its grants a call that needs
 * it fails with PostgreSQL's "permission denied" (42501), never silently.
 *
 * The functions are SECURITY INVOKER (checked below): they run with the
 * caller's rights, so the app role needs the table grants as well as EXECUTE,
 * and EXECUTE grants nothing beyond what the role could do with plain SQL.
 */

const MIGRATOR = 'schedkit_migrator';
const APP = 'schedkit_app';
const PASSWORD = 'pw-for-tests-only';
/** Each lacks one of the app's grants. */
const LACKING = ['usage', 'execute', 'select', 'insert', 'update', 'delete', 'sequence'] as const;
type Grant = (typeof LACKING)[number];
const lackingRole = (grant: Grant): string => `app_no_${grant}`;

/** The tables the app role reads and writes: every table but the migrations' bookkeeping. */
const APP_TABLES = ['jobs', 'runs', 'trigger_ids', 'history', 'rate_starts', 'instances', 'heard', 'lock_leases', 'lock_waiters'];

/** The application role's grants on schema `s` (docs/postgres.md, "Grants"); `omit` leaves one out. */
function appGrants(s: string, role: string, omit?: Grant): string[] {
  const tables = APP_TABLES.map((t) => `${s}.${t}`).join(', ');
  const grants: Record<Grant, string> = {
    usage: `GRANT USAGE ON SCHEMA ${s} TO ${role}`,
    execute: `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${role}`,
    select: `GRANT SELECT ON ${tables} TO ${role}`,
    insert: `GRANT INSERT ON ${tables} TO ${role}`,
    update: `GRANT UPDATE ON ${tables} TO ${role}`,
    delete: `GRANT DELETE ON ${tables} TO ${role}`,
    sequence: `GRANT USAGE ON SEQUENCE ${s}.pending_seq TO ${role}`,
  };
  return LACKING.filter((g) => g !== omit).map((g) => grants[g]);
}

/** Functions are executable by PUBLIC unless revoked: the migration role revokes it, so EXECUTE is a real grant. */
const revokePublic = (s: string): string => `REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} FROM PUBLIC`;

let server: PostgresServer;
let database = '';
let admin: pg.Pool;
const urlOf = (role: string, password = PASSWORD): string => `postgresql://${role}:${password}@${server.host}:${server.port}/${database}`;

/** Runs `statements` in one session as `role` (password login). */
async function runAs(role: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: urlOf(role), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const roles = [MIGRATOR, APP, ...LACKING.map(lackingRole)];
  // Password logins for these roles; the superuser keeps the harness's trust line.
  server = await startPostgres({ hba: [`host all ${roles.join(',')} 127.0.0.1/32 scram-sha-256`] });
  ({ database } = await server.createDatabase('grants'));
  admin = new pg.Pool({ connectionString: `postgresql://${server.user}@${server.host}:${server.port}/${database}`, max: 2 });
  admin.on('error', () => undefined);
  await admin.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
  await admin.query(`CREATE ROLE ${MIGRATOR} LOGIN PASSWORD '${PASSWORD}'`);
  await admin.query(`GRANT CONNECT, CREATE ON DATABASE ${database} TO ${MIGRATOR}`);
  for (const role of roles.slice(1)) {
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
  }
}, 60_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.stop();
});

/** Everything the app does, with `migrate: false`: a scheduler cycle, run administration, maintenance, the lock. */
async function fullCycle(schema: string): Promise<void> {
  const { scheduler, backend, lock, logger, close } = await postgresInstance({
    connection: { connectionString: urlOf(APP) },
    schema,
    migrate: false,
    config: { pollIntervalMs: 100 },
  });
  try {
    const seen: unknown[] = [];
    await scheduler.register({ name: 'tick', schedule: { every: '1s' }, handler: () => {} });
    await scheduler.register({
      name: 'report',
      tenantId: 'acme',
      lockKey: 'reports',
      rateLimit: { key: 'reports', max: 100, perMs: 60_000 },
      handler: (ctx) => void seen.push(ctx.params),
    });
    await scheduler.start();
    await scheduler.trigger('report', { tenantId: 'acme', id: 'r1', params: { n: 1 } });
    await scheduler.trigger('report', { tenantId: 'acme', id: 'r2', at: new Date(Date.now() + 3_600_000) });
    const outcomes = async (name: string, tenantId?: string): Promise<string[]> =>
      (await scheduler.history(name, { tenantId })).map((entry) => `${entry.id}:${entry.outcome}`);
    await expect.poll(() => outcomes('report', 'acme'), { timeout: 10_000 }).toEqual(['r1:success']);
    expect(seen).toEqual([{ n: 1 }]);
    await expect.poll(async () => (await outcomes('tick')).filter((o) => o.endsWith(':success')).length, { timeout: 10_000 }).toBeGreaterThan(0);

    expect((await scheduler.reschedule('r2', { tenantId: 'acme', at: new Date(Date.now() + 7_200_000) })).state).toBe('pending');
    expect((await scheduler.listRuns({ tenantId: 'acme' })).runs.map((run) => run.id)).toEqual(['r2']);
    expect((await scheduler.cancel('r2', { tenantId: 'acme' })).outcome).toBe('cancelled');
    await scheduler.pause('tick');
    await scheduler.resume('tick');
    expect(await backend.reapStalledRuns()).toEqual([]);
    await backend.sweep({ retentionMs: 0, orphanTimeoutMs: 3_600_000 });

    const lease = (await lock.acquire('app:lock', { ttlMs: 5_000 }))!;
    await lease.extend(10_000);
    const waiting = lock.acquire('app:lock', { ttlMs: 5_000, waitMs: 5_000 });
    // Queued (a row of lock_waiters, its id from an identity column) before the release.
    const tickets = async (): Promise<number> => (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".lock_waiters`)).rows[0]!.n;
    await expect.poll(tickets, { timeout: 5_000 }).toBe(1);
    await lease.release();
    const next = (await waiting)!;
    expect(next.fencingToken).toBe(lease.fencingToken + 1);
    await next.release();
    expect(await lock.using('app:lock', { ttlMs: 5_000 }, (_signal, token) => token)).toBe(next.fencingToken + 1);

    expect(await scheduler.remove('tick', { everywhere: true })).toBe(true);
    // Background calls (heartbeats, polls, sweeps) only log their failures.
    const logged = logger.entries.map((entry) => `${entry.message} ${inspect(entry.fields)}`).join('\n');
    expect(logged).not.toMatch(/permission denied|42501/);
  } finally {
    await close();
  }
}

describe.each([
  ['the migration role applies the migrations (migrate: true)', 'by_migrate'],
  ['the migration role runs the printed scripts', 'by_script'],
])('least grants: %s; the app role runs everything with migrate: false', (_label, schema) => {
  const s = `"${schema}"`;
  beforeAll(async () => {
    if (schema === 'by_migrate') {
      const backend = new PostgresBackend({ connectionString: urlOf(MIGRATOR), schema });
      const lock = new PostgresLock({ connectionString: urlOf(MIGRATOR), schema });
      await backend.connect();
      await lock.connect();
      await Promise.all([lock.close(), backend.close()]);
    } else {
      await runAs(MIGRATOR, [postgresBackendMigrationScript(schema), postgresLockMigrationScript(schema)]);
    }
    await runAs(MIGRATOR, [revokePublic(s), ...appGrants(s, APP), ...LACKING.flatMap((grant) => appGrants(s, lackingRole(grant), grant))]);
    // A job for the probes below, stored by the owner.
    const owner = new PostgresBackend({ connectionString: urlOf(MIGRATOR), schema, migrate: false });
    await owner.connect();
    await owner.upsertJobs([jobUpsert('/probe')]);
    await owner.close();
  });

  it('the app role is no superuser, owns nothing, and its functions are SECURITY INVOKER', async () => {
    const { rows } = await admin.query(
      `SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, n.nspowner::regrole::text AS schema_owner,
         (SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = n.oid AND c.relowner = r.oid) AS owned,
         (SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = n.oid AND p.prosecdef) AS definer,
         (SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = n.oid) AS functions
       FROM pg_roles r, pg_namespace n WHERE r.rolname = $1 AND n.nspname = $2`,
      [APP, schema],
    );
    expect(rows[0]).toMatchObject({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, schema_owner: MIGRATOR, owned: 0, definer: 0 });
    expect(rows[0].functions).toBeGreaterThan(10);
  });

  it('runs a full cycle: register, trigger, run, history, reschedule, cancel, pause, sweep, remove; lock acquire/extend/wait/release/using', async () => {
    await fullCycle(schema);
  });

  it('cannot change the schema nor read the migrations bookkeeping', async () => {
    const attempts = [`DROP TABLE ${s}.jobs`, `CREATE TABLE ${s}.mine (x int)`, `SELECT * FROM ${s}.schedkit_migrations`, `TRUNCATE ${s}.runs`];
    for (const statement of attempts) {
      const error = await rejection(runAs(APP, [statement]));
      expect((error as { code?: string }).code, statement).toBe('42501');
    }
  });

  // Each grant, left out, and a call that needs it: refused, loudly, not as an outage.
  // The lock's acquire is one statement on both of its tables: either may be named.
  const LOCK_TABLES = /permission denied for table lock_(leases|waiters)/;
  const probes: Array<[Grant, RegExp, (backend: PostgresBackend, lock: PostgresLock) => Promise<unknown>]> = [
    ['usage', /permission denied for schema/, (backend) => backend.getJob('/probe')],
    ['usage', /permission denied for schema/, (_backend, lock) => lock.acquire('probe', { ttlMs: 1_000 })],
    ['execute', /permission denied for function now_ms/, (backend) => backend.time()],
    ['execute', /permission denied for function upsert_jobs/, (backend) => backend.upsertJobs([jobUpsert('/other')])],
    ['select', /permission denied for table jobs/, (backend) => backend.getJob('/probe')],
    ['select', LOCK_TABLES, (_backend, lock) => lock.acquire('probe', { ttlMs: 1_000 })],
    ['insert', /permission denied for table jobs/, (backend) => backend.upsertJobs([jobUpsert('/other')])],
    ['insert', LOCK_TABLES, (_backend, lock) => lock.acquire('probe', { ttlMs: 1_000 })],
    ['update', /permission denied for table jobs/, (backend) => backend.setPaused('/probe', true)],
    ['update', LOCK_TABLES, (_backend, lock) => lock.acquire('probe', { ttlMs: 1_000 })],
    ['delete', /permission denied for table jobs/, (backend) => backend.removeJob('/nothing')],
    ['delete', LOCK_TABLES, (_backend, lock) => lock.acquire('probe', { ttlMs: 1_000 })],
    ['sequence', /permission denied for sequence pending_seq/, (backend) => backend.enqueueRun({ key: '/probe', id: 'p1', kind: 'trigger', dueAt: null, params: undefined, maxAttempts: 1 })],
  ];

  it.each(probes)('without %s: %s', async (grant, message, call) => {
    const backend = new PostgresBackend({ connectionString: urlOf(lackingRole(grant)), schema, migrate: false });
    const lock = new PostgresLock({ connectionString: urlOf(lackingRole(grant)), schema, migrate: false });
    try {
      await backend.connect();
      const error = await rejection(call(backend, lock));
      expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(false);
      expect((error as { code?: string }).code).toBe('42501');
      expect((error as Error).message).toMatch(message);
    } finally {
      await Promise.all([lock.close(), backend.close()]);
    }
  });
});

describe('password authentication', () => {
  it('a wrong password is refused at connect', async () => {
    const backend = new PostgresBackend({ connectionString: urlOf(APP, 'wrong'), schema: 'by_migrate', migrate: false });
    try {
      const error = await rejection(backend.connect());
      expect((error as Error).message).toMatch(/password authentication failed for user "schedkit_app"/);
    } finally {
      await backend.close();
    }
  });
});
