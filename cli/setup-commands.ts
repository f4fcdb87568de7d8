import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Container } from 'inversify';
import { App } from '../modules/app.js';
import { SchedkitError } from '../src/errors/schedkit-error.js';
import type { Command } from './command.js';
import { openBackend, storeOf } from './connection.js';
import { UsageError } from './usage.js';

/** `schedkit migrate` and `schedkit run`: setting a store up, and running an app. */

export const setupCommands: Command[] = [
  {
    words: ['migrate'],
    args: [],
    summary: 'apply the PostgreSQL migrations of the backend and the lock (--print: print their SQL instead)',
    options: { print: { type: 'boolean', help: 'print the SQL for --schema (default schedkit); connect to nothing' } },
    usesStore: true,
    async run(invocation) {
      const { schema } = invocation.values;
      const { postgresBackendMigrationScript } = await import('../src/backend/postgres/migrations.js');
      const { postgresLockMigrationScript } = await import('../src/lock/postgres/lock-migrations.js');
      if (invocation.values.print === true) {
        if (invocation.values.redis !== undefined) throw new UsageError('migrate is for PostgreSQL: Redis needs no migrations');
        const name = typeof schema === 'string' ? schema : undefined;
        invocation.io.stdout.write(`${postgresBackendMigrationScript(name)}\n${postgresLockMigrationScript(name)}\n`);
        return 0;
      }
      const store = storeOf(invocation.values, invocation.io.env);
      if (store.kind !== 'postgres') throw new UsageError('migrate is for PostgreSQL: Redis needs no migrations');
      const backend = await openBackend(store, { migrate: true });
      await backend.close();
      const { PostgresLock } = await import('../src/lock/postgres/postgres-lock.js');
      const lock = new PostgresLock({ connectionString: store.url, ...(store.schema === undefined ? {} : { schema: store.schema }) });
      try {
        await lock.connect();
      } finally {
        await lock.close();
      }
      const applied = { schema: store.schema ?? 'schedkit', tracks: ['backend', 'lock'] };
      invocation.io.stdout.write(invocation.values.json === true ? `${JSON.stringify(applied)}\n` : `schema "${applied.schema}" is up to date (backend and lock migrations applied)\n`);
      return 0;
    },
  },
  {
    words: ['run'],
    args: ['<module>'],
    summary: 'run an app: the module\'s default export is a container, or a function returning one; stops on SIGINT/SIGTERM',
    options: {},
    usesStore: false,
    async run(invocation) {
      const path = invocation.args[0]!;
      let loaded: { default?: unknown };
      try {
        loaded = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
      } catch (error) {
        throw new SchedkitError('E_CONFIG', `could not import ${path}: ${(error as Error).message}`, { cause: error });
      }
      let container = loaded.default;
      if (typeof container === 'function') container = await (container as () => unknown)();
      // Duck-typed, not instanceof: the app may resolve its own copy of inversify.
      if (!isContainer(container)) {
        throw new SchedkitError('E_CONFIG', `${path} must export default an inversify Container, or a function returning one (got ${typeof container})`);
      }
      return new App(container).run();
    },
  },
];

function isContainer(value: unknown): value is Container {
  const c = value as { get?: unknown; load?: unknown; isBound?: unknown } | null;
  return typeof c === 'object' && c !== null && typeof c.get === 'function' && typeof c.load === 'function' && typeof c.isBound === 'function';
}
