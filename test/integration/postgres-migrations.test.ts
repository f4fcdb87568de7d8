import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { openPool } from '../../src/postgres/connection.js';
import { migrate, migrationScript, type MigrationTrack } from '../../src/postgres/migrations.js';
import { quotedSchema } from '../../src/postgres/schema-name.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const TRACK: MigrationTrack = {
  track: 'demo',
  migrations: [
    { version: 1, name: 'things', sql: (s) => `CREATE TABLE ${s}.things (id integer PRIMARY KEY);` },
    { version: 2, name: "things' label", sql: (s) => `ALTER TABLE ${s}.things ADD COLUMN label text;` },
  ],
};

async function columns(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'things' ORDER BY ordinal_position`,
    [schema],
  );
  return rows.map((r) => r.column_name);
}

describe('PostgreSQL migrations', () => {
  it('apply each step once, also when instances start together, and record them per track', async () => {
    const { url } = await server.createDatabase('migrate');
    const { pool } = await openPool({ connectionString: url });
    try {
      const results = await Promise.all([1, 2, 3, 4].map(() => migrate(pool, 'app_jobs', TRACK)));
      expect(results.flat().sort()).toEqual([1, 2]);
      expect(await columns(pool, 'app_jobs')).toEqual(['id', 'label']);
      expect(await migrate(pool, 'app_jobs', { ...TRACK, migrations: [...TRACK.migrations, { version: 3, name: 'more', sql: (s) => `ALTER TABLE ${s}.things ADD COLUMN more integer;` }] })).toEqual([3]);
      const { rows } = await pool.query('SELECT track, version, name FROM app_jobs.schedkit_migrations ORDER BY version');
      expect(rows).toEqual([
        { track: 'demo', version: 1, name: 'things' },
        { track: 'demo', version: 2, name: "things' label" },
        { track: 'demo', version: 3, name: 'more' },
      ]);
    } finally {
      await pool.end();
    }
  });

  it('rolls a failing step back whole: nothing of it, and no record', async () => {
    const { url } = await server.createDatabase('rollback');
    const { pool } = await openPool({ connectionString: url });
    try {
      const broken: MigrationTrack = { track: 'demo', migrations: [TRACK.migrations[0]!, { version: 2, name: 'broken', sql: () => 'SELECT no_such_column FROM nowhere;' }] };
      await expect(migrate(pool, 'rolled', broken)).rejects.toThrow(/nowhere/);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'rolled'`);
      expect(rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('prints a script that does what migrate does, and can be run twice', async () => {
    const { url } = await server.createDatabase('script');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const script = migrationScript('printed', TRACK);
      await client.query(script);
      await client.query(script);
      const { rows } = await client.query('SELECT version FROM printed.schedkit_migrations ORDER BY version');
      expect(rows.map((r: { version: number }) => r.version)).toEqual([1, 2]);
      const { pool } = await openPool({ connectionString: url });
      try {
        expect(await migrate(pool, 'printed', TRACK)).toEqual([]);
      } finally {
        await pool.end();
      }
    } finally {
      await client.end();
    }
  });

  it.each(['Schedkit', '1jobs', 'a-b', 'a"; DROP TABLE x; --', '', 'x'.repeat(64)])('refuses the schema name %j with E_CONFIG', (name) => {
    expect(() => quotedSchema(name)).toThrow(SchedkitError);
    try {
      quotedSchema(name);
    } catch (error) {
      expect((error as SchedkitError).code).toBe('E_CONFIG');
    }
  });
});
