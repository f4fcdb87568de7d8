import { migrationScript, type MigrationTrack } from '../../postgres/migrations.js';

/**
 * The tables of `PostgresLock`, in their own migration track (`lock`), so
 * the lock can be used without the backend.
 *
 * - `lock_leases`: one row per resource ever locked, never deleted: the row
 *   keeps the resource's fencing token, so the token keeps increasing after
 *   a release or an expiry. The lock is held while `expires_at` (the
 *   database's clock) is in the future; a release sets it to the present.
 * - `lock_waiters`: one ticket per waiting caller, served in `id` order
 *   (first come, first served). A ticket counts while `lease_until` is in
 *   the future: its waiter renews it, so a waiter that died stops holding
 *   up the queue once its ticket lapses.
 */
export const LOCK_MIGRATIONS: MigrationTrack = {
  track: 'lock',
  migrations: [
    {
      version: 1,
      name: 'lock leases and waiters',
      sql: (s) => `CREATE TABLE ${s}.lock_leases (
  resource text PRIMARY KEY,
  owner text NOT NULL,
  fence bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE ${s}.lock_waiters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource text NOT NULL,
  lease_until timestamptz NOT NULL
);
CREATE INDEX lock_waiters_resource_id ON ${s}.lock_waiters (resource, id);`,
    },
  ],
};

/**
 * The SQL script that creates `PostgresLock`'s tables in `schema`, for
 * teams that apply migrations themselves and construct the lock with
 * `migrate: false`. It is what `migrate: true` runs, with the bookkeeping
 * rows, and can be run more than once.
 *
 * @param schema The schema the lock will use (default `schedkit`).
 * @example
 * writeFileSync('schedkit-lock.sql', postgresLockMigrationScript('jobs'));
 */
export function postgresLockMigrationScript(schema?: string): string {
  return migrationScript(schema, LOCK_MIGRATIONS);
}
