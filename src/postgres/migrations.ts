import type { Pool } from 'pg';
import { inTransaction } from './connection.js';
import { quotedSchema } from './schema-name.js';

/**
 * One step of a schema's history. `sql` gets the quoted schema name and
 * returns the statements; steps are never edited once released, only
 * added, so every database reaches the same schema by the same steps.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (schema: string) => string;
}

/**
 * The migrations of one part of schedkit (`track`: the backend's tables,
 * the lock's), applied and recorded separately, so `PostgresLock` can be
 * used without the backend and each part's versions count on their own.
 */
export interface MigrationTrack {
  readonly track: string;
  readonly migrations: readonly Migration[];
}

const TABLE = 'schedkit_migrations';

/** The statements that create the schema and the table recording applied migrations. */
function bookkeeping(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.${TABLE} (
  track text NOT NULL,
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (track, version)
);`;
}

/**
 * Applies the migrations of `track` that `schema` has not had, in version
 * order, in one transaction under a transaction-level advisory lock (keyed
 * by schema and track), so instances starting together apply each step
 * once and the others wait for it. Returns the versions applied.
 */
export async function migrate(pool: Pool, schemaName: string | undefined, track: MigrationTrack): Promise<number[]> {
  const schema = quotedSchema(schemaName);
  checkOrder(track);
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`schedkit:${schema}:${track.track}`]);
    await client.query(bookkeeping(schema));
    const done = await client.query<{ version: number }>(`SELECT version FROM ${schema}.${TABLE} WHERE track = $1`, [track.track]);
    const applied = new Set(done.rows.map((r) => r.version));
    const now: number[] = [];
    for (const migration of track.migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql(schema));
      await client.query(`INSERT INTO ${schema}.${TABLE} (track, version, name) VALUES ($1, $2, $3)`, [track.track, migration.version, migration.name]);
      now.push(migration.version);
    }
    return now;
  });
}

/**
 * Every migration of `track` as one SQL script, for teams that apply
 * migrations themselves (`migrate: false`): the same statements `migrate`
 * runs, with the bookkeeping rows, each step skipped when already recorded.
 */
export function migrationScript(schemaName: string | undefined, track: MigrationTrack): string {
  const schema = quotedSchema(schemaName);
  checkOrder(track);
  const steps = track.migrations.map(
    (m) => `-- ${track.track} ${m.version}: ${m.name}
DO $schedkit$ BEGIN
IF NOT EXISTS (SELECT 1 FROM ${schema}.${TABLE} WHERE track = '${track.track}' AND version = ${m.version}) THEN
${m.sql(schema)}
INSERT INTO ${schema}.${TABLE} (track, version, name) VALUES ('${track.track}', ${m.version}, '${m.name.replaceAll("'", "''")}');
END IF;
END $schedkit$;`,
  );
  return [`-- schedkit migrations, track ${track.track}, schema ${schema}`, 'BEGIN;', bookkeeping(schema), ...steps, 'COMMIT;', ''].join('\n');
}

/** Versions must be positive integers in strictly increasing order, and track names plain words: both end up in statement text. */
function checkOrder(track: MigrationTrack): void {
  if (!/^[a-z][a-z0-9_]*$/.test(track.track)) throw new Error(`migration track name ${JSON.stringify(track.track)} is not a plain name`);
  let previous = 0;
  for (const m of track.migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) throw new Error(`migrations of ${track.track} out of order at version ${m.version}`);
    previous = m.version;
  }
}
