/**
 * `schedkit/postgres`: schedkit on PostgreSQL, through node-postgres (`pg`,
 * an optional peer dependency: install it to use this entry point). The
 * lock, its options, and the SQL of its tables for teams that run
 * migrations themselves. Every name is listed on purpose;
 * `api/postgres.api.md` records them.
 */
export { PostgresLock, type PostgresLockOptions, type PostgresLockSettings } from './src/lock/postgres/postgres-lock.js';
export { postgresLockMigrationScript } from './src/lock/postgres/lock-migrations.js';
export type { PostgresConnection } from './src/postgres/connection.js';
