/**
 * `schedkit/postgres`: schedkit on PostgreSQL, through node-postgres (`pg`,
 * an optional peer dependency: install it to use this entry point). The
 * backend and the lock, their options, and the SQL of their tables for
 * teams that run migrations themselves. Every name is listed on purpose;
 * `api/postgres.api.md` records them.
 */
export { PostgresBackend, type PostgresBackendOptions } from './src/backend/postgres/postgres-backend.js';
export { postgresBackendMigrationScript } from './src/backend/postgres/migrations.js';
export { PostgresLock, type PostgresLockOptions, type PostgresLockSettings } from './src/lock/postgres/postgres-lock.js';
export { postgresLockMigrationScript } from './src/lock/postgres/lock-migrations.js';
export type { PostgresConnection } from './src/postgres/connection.js';
export { postgresBackendModule, type PostgresBackendModuleOptions } from './modules/postgres-backend.module.js';
