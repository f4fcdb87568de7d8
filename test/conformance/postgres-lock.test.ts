import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { describeLockConformance } from 'schedkit/backend';
import { PostgresLock } from 'schedkit/postgres';
import { freezeProcess, wait } from '../helpers/fixtures.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

// One private cluster and database for the file; every test gets a schema of
// its own. The database's clock is real, so moving lock time is waiting.
let server: PostgresServer | undefined;
let url = '';

beforeAll(async () => {
  server = await startPostgres();
  url = (await server.createDatabase('lock')).url;
});

afterAll(async () => {
  await server?.stop();
});

await describeLockConformance('postgres', async () => {
  const lock = new PostgresLock({ connectionString: url, schema: `lock_${randomBytes(5).toString('hex')}` });
  await lock.connect();
  return { lock, advance: wait, freeze: freezeProcess, close: () => lock.close() };
});
