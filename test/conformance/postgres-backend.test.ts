import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postgresBackendMigrationScript } from '../../src/backend/postgres/migrations.js';
import { PostgresBackend } from '../../src/backend/postgres/postgres-backend.js';
import { describeBackendConformance } from '../../src/conformance/backend-conformance.js';
import { jobUpsert, rejection, type BackendHarness } from '../../src/conformance/harness.js';
import { describeHeldRunsConformance } from '../../src/conformance/held-runs-conformance.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { freePort, LOOPBACK } from '../helpers/loopback.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

/**
 * The backend contract on real PostgreSQL: one private cluster for this file,
 * a fresh schema per test (the backend migrates it on connect, the harness
 * drops it afterwards). `advance(ms)` is a real wait: the database clock
 * cannot be faked.
 */

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let server: PostgresServer;
let admin: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Pool({ connectionString: server.url, max: 2 });
  // pool.end() resolves before its connections are closed: one still closing
  // when the server stops gets its "terminating connection", harmless here.
  admin.on('error', () => undefined);
}, 60_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.stop();
});

async function harness(): Promise<BackendHarness> {
  const schema = `conf_${randomBytes(6).toString('hex')}`;
  const backend = new PostgresBackend({ connectionString: server.url, schema });
  await backend.connect();
  return {
    backend,
    advance: wait,
    close: async () => {
      await backend.close();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    },
  };
}

describeBackendConformance('postgres', harness);

describeHeldRunsConformance('postgres', harness);

describe('PostgresBackend specifics', () => {
  const schema = () => `spec_${randomBytes(6).toString('hex')}`;

  it('uses the application pool and never ends it; a short slot run costs two round trips', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 3 });
    pool.on('error', () => undefined);
    const name = schema();
    const backend = new PostgresBackend({ pool, schema: name });
    try {
      await backend.connect();
      await backend.upsertJobs([jobUpsert('/rt')]);
      const now = await backend.time();
      const query = vi.spyOn(pool, 'query');
      const [claimed] = await backend.claimSlots([
        { key: '/rt', slot: now - 1_000, runId: randomUUID(), instanceId: 'i', leaseMs: 1_000, definitionHash: 'h1', overlap: 'skip', nextRunAt: now + 60_000, requeueOnStall: false, maxAttempts: 1 },
      ]);
      if (claimed?.status !== 'claimed') throw new Error(`expected claimed, got ${claimed?.status}`);
      const run = claimed.run;
      expect(await backend.finishRuns([{ key: run.key, id: run.id, fencingToken: run.fencingToken, instanceId: 'i', outcome: 'success', error: null, durationMs: 3 }])).toEqual([true]);
      expect(query).toHaveBeenCalledTimes(2);
      query.mockRestore();
      await backend.close();
      // Still usable: the backend ended only what it made (its listening connection).
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await backend.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      await pool.end();
    }
  });

  it('with migrate: false works on tables made by the printed script', async () => {
    const name = schema();
    await admin.query(postgresBackendMigrationScript(name));
    const backend = new PostgresBackend({ connectionString: server.url, schema: name, migrate: false });
    try {
      await backend.connect();
      expect((await backend.upsertJobs([jobUpsert('/printed')]))[0]?.created).toBe(true);
      const { rows } = await admin.query(`SELECT track, version FROM "${name}".schedkit_migrations`);
      expect(rows).toEqual([{ track: 'backend', version: 1 }]);
    } finally {
      await backend.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
  });

  it('refuses a schema name that is not a plain name, and a missing connection, with E_CONFIG', () => {
    for (const options of [{ connectionString: server.url, schema: 'Jobs; DROP' }, {}, { connectionString: server.url, pool: admin }]) {
      let error: unknown;
      try {
        new PostgresBackend(options);
      } catch (caught) {
        error = caught;
      }
      expect(SchedkitError.is(error, 'E_CONFIG')).toBe(true);
    }
  });

  it('rejects with E_BACKEND_UNAVAILABLE when PostgreSQL cannot be reached, and before connect', async () => {
    const port = await freePort();
    const backend = new PostgresBackend({ connectionString: `postgresql://postgres@${LOOPBACK}:${port}/postgres`, schema: schema() });
    try {
      expect(SchedkitError.is(await rejection(backend.time()), 'E_BACKEND_UNAVAILABLE')).toBe(true);
      expect(SchedkitError.is(await rejection(backend.connect()), 'E_BACKEND_UNAVAILABLE')).toBe(true);
    } finally {
      await backend.close();
    }
  });
});
