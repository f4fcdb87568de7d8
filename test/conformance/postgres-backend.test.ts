import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresBackend } from '../../src/backend/postgres/postgres-backend.js';
import { describeBackendConformance } from '../../src/conformance/backend-conformance.js';
import type { BackendHarness } from '../../src/conformance/harness.js';
import { describeHeldRunsConformance } from '../../src/conformance/held-runs-conformance.js';
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
