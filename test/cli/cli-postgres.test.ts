import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/program.js';
import { until } from '../helpers/fixtures.js';
import { postgresInstance, type PostgresInstance } from '../helpers/postgres-instance.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

// The CLI against a private PostgreSQL: `migrate` (applied and printed), and
// the job commands beside a worker on the migrated schema.

let server: PostgresServer;
let url = '';
let admin: pg.Pool;
let worker: PostgresInstance | undefined;
const ran: unknown[] = [];

beforeAll(async () => {
  server = await startPostgres();
  url = (await server.createDatabase('cli')).url;
  admin = new pg.Pool({ connectionString: url });
  admin.on('error', () => undefined);
});

afterAll(async () => {
  await worker?.close();
  await admin?.end();
  await server?.stop();
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { SCHEDKIT_POSTGRES_URL: url },
  });
  return { code, stdout, stderr };
}

async function tables(schema: string): Promise<string[]> {
  const { rows } = await admin.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
  return rows.map((r) => r.table_name);
}

describe('schedkit CLI on PostgreSQL', () => {
  it('migrate --print prints the SQL of both tracks for the schema, connecting to nothing', async () => {
    let stdout = '';
    const code = await runCli(['migrate', '--print', '--schema', 'billing'], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, env: {} });
    expect(code).toBe(0);
    expect(stdout).toMatch(/CREATE TABLE (IF NOT EXISTS )?"billing"\.jobs/i);
    expect(stdout).toMatch(/"billing"\.lock_leases/);
    expect(await tables('billing')).toEqual([]);
  });

  it('reading a schema that was never migrated is an error and creates nothing', async () => {
    const listed = await cli('jobs', 'list', '--schema', 'never_made');
    expect(listed.code).toBe(1);
    expect(await tables('never_made')).toEqual([]);
  });

  it('migrate applies the backend and lock migrations; the job commands then work beside a worker', async () => {
    const migrated = await cli('migrate', '--schema', 'cli_jobs');
    expect(migrated).toMatchObject({ code: 0, stdout: 'schema "cli_jobs" is up to date (backend and lock migrations applied)\n' });
    expect(await tables('cli_jobs')).toEqual(expect.arrayContaining(['jobs', 'runs', 'history', 'lock_leases', 'lock_waiters']));
    expect((await cli('migrate', '--schema', 'cli_jobs')).code).toBe(0);

    worker = await postgresInstance({ connection: { connectionString: url }, schema: 'cli_jobs', migrate: false });
    await worker.scheduler.register({ name: 'nightly-export', schedule: { cron: '0 3 * * *', tz: 'Europe/Paris' }, handler: () => {} });
    await worker.scheduler.register({ name: 'greet', handler: (ctx) => void ran.push(ctx.params) });
    await worker.scheduler.start();

    const listed = await cli('jobs', 'list', '--schema', 'cli_jobs');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^nightly-export\s+-\s+scheduled\s+cron 0 3 \* \* \* \(Europe\/Paris\)/m);
    expect((await cli('jobs', 'trigger', 'greet', '--schema', 'cli_jobs', '--params', '[1,2]')).code).toBe(0);
    await until('the worker ran it', () => ran.length === 1);
    expect(ran[0]).toEqual([1, 2]);
    const history = JSON.parse((await cli('jobs', 'history', 'greet', '--schema', 'cli_jobs', '--json')).stdout) as Array<{ outcome: string }>;
    expect(history.map((h) => h.outcome)).toEqual(['success']);
  });

  it('--redis and --postgres together, or --prefix with PostgreSQL, are usage errors', async () => {
    expect((await cli('jobs', 'list', '--redis', 'redis://127.0.0.1:1', '--postgres', url)).code).toBe(2);
    expect((await cli('jobs', 'list', '--prefix', 'x')).stderr).toMatch(/--prefix applies to --redis/);
  });
});
