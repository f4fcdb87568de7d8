import { EventEmitter } from 'node:events';
import { Container } from 'inversify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import { postgresBackendModule } from 'schedkit/postgres';
import type { Backend } from '../../src/backend/backend.js';
import type { Logger } from '../../src/observability/logger.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { freePort, LOOPBACK } from '../helpers/loopback.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

let server: PostgresServer | undefined;
let url = '';
let admin: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  url = (await server.createDatabase('pgmodule')).url;
  admin = new pg.Pool({ connectionString: url });
  admin.on('error', () => undefined);
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

/** A container on the PostgreSQL backend, an App with fake signals, and a job that records its runs. */
function app(module: ReturnType<typeof postgresBackendModule>, config: Parameters<typeof schedulerModule>[0] = {}) {
  const container = new Container();
  container.load(schedulerModule({ pollIntervalMs: 200, ...config }), module);
  const logger = new RecordingLogger();
  container.rebind<Logger>(TOKENS.Logger).toConstantValue(logger);
  const runs: string[] = [];
  container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
    register: (scheduler) =>
      scheduler.register({ name: 'invoice', tenantId: 'acme', handler: (ctx) => void runs.push(String((ctx.params as { n: number }).n)) }),
  });
  const exit = vi.fn();
  return { container, logger, runs, app: new App(container, { signals: new EventEmitter(), exit }) };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Connections open from this database under `applicationName`. */
async function connections(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return Number(rows[0]!.n);
}

describe('postgresBackendModule', () => {
  it('migrates on start, runs a job, and on stop ends its own pool after the scheduler drained', async () => {
    const { container, logger, runs, app: service } = app(
      postgresBackendModule({ connectionString: url, schema: 'billing', poolOptions: { application_name: 'module-owned' } }),
    );
    expect(service.lifecycle.hookNames()).toEqual(['postgres:pool', 'backend:postgres', 'lock:postgres', 'executor', 'registrars', 'scheduler']);
    await service.start();
    const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
    expect(container.get<Backend>(TOKENS.Backend).kind).toBe('postgres');
    await scheduler.trigger('invoice', { tenantId: 'acme', params: { n: 1 } });
    await until(() => runs.length === 1);
    expect(runs).toEqual(['1']);
    // Both listeners hold a connection while the app runs.
    expect(await connections('module-owned')).toBeGreaterThanOrEqual(2);
    await service.stop();
    const stops = logger.entries.filter((e) => e.message === 'hook stopped').map((e) => e.fields.hook);
    expect(stops).toEqual(['scheduler', 'executor', 'lock:postgres', 'backend:postgres', 'postgres:pool']);
    // pool.end() resolves once its clients are told to close; the server sees them go soon after.
    const deadline = Date.now() + 5_000;
    while ((await connections('module-owned')) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connections('module-owned')).toBe(0);
    const { rows } = await admin.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'billing'");
    expect(Number(rows[0]!.n)).toBeGreaterThan(3);
  });

  it("uses the application's pool and never ends it", async () => {
    const pool = new pg.Pool({ connectionString: url, application_name: 'app-owned' });
    pool.on('error', () => undefined);
    try {
      const { container, runs, app: service } = app(postgresBackendModule({ pool, schema: 'shared' }));
      await service.start();
      await container.get<Scheduler>(TOKENS.Scheduler).trigger('invoice', { tenantId: 'acme', params: { n: 2 } });
      await until(() => runs.length === 1);
      await service.stop();
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('takes the connection string from the config (SCHEDKIT_POSTGRES_URL) when given none', async () => {
    const { container, runs, app: service } = app(postgresBackendModule({ schema: 'from_env' }), { postgresUrl: url });
    await service.start();
    await container.get<Scheduler>(TOKENS.Scheduler).trigger('invoice', { tenantId: 'acme', params: { n: 7 } });
    await until(() => runs.length === 1);
    expect(runs).toEqual(['7']);
    await service.stop();
  });

  it('with migrate: false on a schema without tables, start fails and rolls back', async () => {
    const { app: service } = app(postgresBackendModule({ connectionString: url, schema: 'never_migrated', migrate: false }));
    const error = await service.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const { rows } = await admin.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'never_migrated'");
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('fails to start with E_BACKEND_UNAVAILABLE when nothing listens, and rolls back', async () => {
    const port = await freePort();
    const { app: service } = app(postgresBackendModule({ connectionString: `postgresql://postgres@${LOOPBACK}:${port}/postgres` }));
    const error = await service.start().catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/backend:postgres/);
    expect(((error as { errors?: Array<{ code?: string }> }).errors ?? [])[0]?.code).toBe('E_BACKEND_UNAVAILABLE');
  });

  it('reports every bad option at once when the module is made', () => {
    const error = thrown(() =>
      postgresBackendModule({ connectionString: 'mysql://x', pool: {} as pg.Pool, schema: 'Bad-Name', migrate: 'yes' as unknown as boolean, tls: true } as never),
    );
    expect(error).toMatchObject({ code: 'E_CONFIG' });
    const message = (error as Error).message;
    for (const part of ['unknown option "tls"', 'either connectionString or pool', 'connectionString must be a postgres://', 'pool must be a pg.Pool', 'schema:', 'migrate must be a boolean']) {
      expect(message).toContain(part);
    }
  });

  it('says what to set when no connection is given anywhere, when the app is built', () => {
    const error = thrown(() => app(postgresBackendModule()));
    expect(error).toMatchObject({ code: 'E_CONFIG' });
    expect((error as Error).message).toMatch(/SCHEDKIT_POSTGRES_URL/);
  });
});
