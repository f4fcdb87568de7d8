import { randomBytes } from 'node:crypto';
import { SchedulerClient } from 'schedkit';
import { PostgresBackend } from 'schedkit/postgres';
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type PostgresServer, type PostgresServerOptions } from '../helpers/postgres-server.js';
import type { WorkerPostgres } from './worker.js';
import { Workers } from './workers.js';

/**
 * A private PostgreSQL cluster and a set of worker processes for one test
 * file: the server starts before its tests, with one database for the file;
 * after them the workers are killed (by pid) and the server stopped. Call it
 * at the top level of the file. `place()` gives each test its own schema;
 * `options` are the server's (settings, pg_hba lines, files).
 */
export function usePostgresCluster(options: PostgresServerOptions = {}): {
  readonly workers: Workers;
  readonly server: PostgresServer;
  readonly url: string;
  place(label: string): WorkerPostgres;
} {
  const workers = new Workers();
  let server: PostgresServer | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
    url = (await server.createDatabase('cluster')).url;
  });
  afterAll(async () => {
    await workers.killAll();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the PostgreSQL of this file is not started yet (use it inside a test)');
    return value;
  };
  return {
    workers,
    get server(): PostgresServer {
      return started(server);
    },
    get url(): string {
      return started(url);
    },
    place(label: string): WorkerPostgres {
      return { url: started(url), schema: `${label}_${randomBytes(4).toString('hex')}` };
    },
  };
}

/** A `SchedulerClient` in the test process on the workers' database and schema: it runs nothing. */
export async function openPostgresClient(place: WorkerPostgres): Promise<{ client: SchedulerClient; backend: PostgresBackend; close(): Promise<void> }> {
  const backend = new PostgresBackend({ connectionString: place.url, schema: place.schema });
  await backend.connect();
  const client = new SchedulerClient({ backend, config: { instanceId: 'test-client' } });
  return { client, backend, close: () => backend.close() };
}
