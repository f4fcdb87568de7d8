import { createRequire } from 'node:module';
import { ContainerModule, type ServiceIdentifier } from 'inversify';
import type { Pool, PoolConfig } from 'pg';
import type { Backend } from '../src/backend/backend.js';
import { PostgresBackend } from '../src/backend/postgres/postgres-backend.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import { ConfigError } from '../src/errors/schedkit-error.js';
import { show } from '../src/errors/messages.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import { PostgresLock } from '../src/lock/postgres/postgres-lock.js';
import { newPool, pgMissing } from '../src/postgres/connection.js';
import { quotedSchema } from '../src/postgres/schema-name.js';
import { bindOrRebind } from './binding.js';
import { TOKENS } from './tokens.js';

/** Options of `postgresBackendModule`: at most one of `connectionString` and `pool`. */
export interface PostgresBackendModuleOptions {
  /**
   * `postgres://` or `postgresql://` connection string: the module makes one
   * pool for the backend and the lock, and ends it after both closed.
   * @default the bound `SchedulerConfig`'s `postgresUrl` (`SCHEDKIT_POSTGRES_URL`)
   */
  connectionString?: string;
  /** Options of the pool made from the connection string (`pg.Pool`'s, but the connection string). */
  poolOptions?: Omit<PoolConfig, 'connectionString'>;
  /**
   * Instead of a connection string: the application's own `pg.Pool`, used
   * and never ended. The backend and the lock each keep one of its
   * connections checked out for `LISTEN` while the app runs.
   */
  pool?: Pool;
  /** Schema of every table and function: lower-case letters, digits and `_`. @default 'schedkit' */
  schema?: string;
  /**
   * Apply the migrations on start (under an advisory lock, so instances
   * starting together apply them once). `false`: the tables must exist
   * (`postgresBackendMigrationScript` and `postgresLockMigrationScript`
   * print the SQL). @default true
   */
  migrate?: boolean;
}

/** The pool shared by the backend and the lock; private to this module. */
const POOL: ServiceIdentifier<Pool> = Symbol('schedkit.postgres.pool');

/**
 * Binds `Backend` to `PostgresBackend` and `DistributedLock` to
 * `PostgresLock`, replacing the in-memory defaults: load it after
 * `schedulerModule()`. Lifecycle hooks, in start order: `postgres:pool`
 * (ends, on stop, a pool this module made — last of all), `backend:postgres`
 * (migrates and starts listening on start; closes on stop) and
 * `lock:postgres`. Stop runs them in reverse, after the scheduler drained, so
 * every run's outcome is written before the pool ends.
 *
 * @example
 * container.load(schedulerModule(), postgresBackendModule({ connectionString: process.env.DATABASE_URL }));
 * // the application's own pool, tables created by your migration tool:
 * container.load(schedulerModule(), postgresBackendModule({ pool, schema: 'jobs', migrate: false }));
 */
export function postgresBackendModule(options: PostgresBackendModuleOptions = {}): ContainerModule {
  checkOptions(options);
  const { schema, migrate } = options;

  return new ContainerModule((load) => {
    bindOrRebind<Pool>(load, POOL)
      .toResolvedValue(
        (config: SchedulerConfig, lifecycle: HookRegistry): Pool => {
          if (options.pool !== undefined) return options.pool;
          const connectionString = options.connectionString ?? config.postgresUrl;
          if (connectionString === undefined) {
            throw new ConfigError(['no PostgreSQL to connect to: pass connectionString or pool, or set SCHEDKIT_POSTGRES_URL (postgresUrl)'], 'postgresBackendModule');
          }
          const pool = newPool(loadPoolClass(), connectionString, options.poolOptions);
          lifecycle.append({ name: 'postgres:pool', onStart: () => {}, onStop: () => pool.end() });
          return pool;
        },
        [TOKENS.SchedulerConfig, TOKENS.Lifecycle],
      )
      .inSingletonScope();

    bindOrRebind<Backend>(load, TOKENS.Backend)
      .toResolvedValue(
        (pool: Pool, config: SchedulerConfig, lifecycle: HookRegistry): Backend => {
          const backend = new PostgresBackend({ pool, schema, migrate, historyLimit: config.historyLimit, connectedBy: 'app' });
          lifecycle.append({ name: 'backend:postgres', onStart: () => backend.connect(), onStop: () => backend.close() });
          return backend;
        },
        [POOL, TOKENS.SchedulerConfig, TOKENS.Lifecycle],
      )
      .inSingletonScope();

    bindOrRebind<DistributedLock>(load, TOKENS.DistributedLock)
      .toResolvedValue(
        (pool: Pool, clock: Clock, lifecycle: HookRegistry): DistributedLock => {
          const lock = new PostgresLock({ pool, schema, migrate, clock });
          lifecycle.append({ name: 'lock:postgres', onStart: () => lock.connect(), onStop: () => lock.close() });
          return lock;
        },
        [POOL, TOKENS.Clock, TOKENS.Lifecycle],
      )
      .inSingletonScope();
  });
}

/**
 * `pg.Pool`, loaded when the module's pool is first resolved: `pg` is an
 * optional peer dependency, so a missing one is an `E_CONFIG` naming it
 * rather than a module-not-found error when `schedkit/postgres` is imported.
 */
function loadPoolClass(): typeof Pool {
  try {
    return (createRequire(import.meta.url)('pg') as typeof import('pg')).Pool;
  } catch (error) {
    throw pgMissing(error);
  }
}

const KNOWN_OPTIONS = new Set(['connectionString', 'poolOptions', 'pool', 'schema', 'migrate']);

/** Every problem with the options, reported when the module is created rather than at start. */
function checkOptions(options: PostgresBackendModuleOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'postgresBackendModule');
  }
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)} (expected ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const { connectionString, poolOptions, pool, schema, migrate } = options;
  if (connectionString !== undefined && pool !== undefined) problems.push('give either connectionString or pool, not both');
  if (connectionString !== undefined && (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\/\S*$/.test(connectionString))) {
    problems.push(`connectionString must be a postgres:// or postgresql:// URL, got ${show(connectionString)}`);
  }
  if (pool !== undefined) {
    const given = pool as { connect?: unknown; query?: unknown } | null;
    if (typeof given !== 'object' || given === null || typeof given.connect !== 'function' || typeof given.query !== 'function') {
      problems.push(`pool must be a pg.Pool, got ${show(pool)}`);
    }
    if (poolOptions !== undefined) problems.push('poolOptions apply to a pool made from connectionString, not to a pool given');
  }
  if (poolOptions !== undefined && (typeof poolOptions !== 'object' || poolOptions === null || Array.isArray(poolOptions))) {
    problems.push(`poolOptions must be an object of pg.Pool options, got ${show(poolOptions)}`);
  }
  if (schema !== undefined) {
    try {
      quotedSchema(schema);
    } catch (error) {
      problems.push(`schema: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (migrate !== undefined && typeof migrate !== 'boolean') problems.push(`migrate must be a boolean, got ${show(migrate)}`);
  if (problems.length > 0) throw new ConfigError(problems, 'postgresBackendModule');
}
