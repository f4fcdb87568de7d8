import { hostname } from 'node:os';
import { RedisBackend } from '../src/backend/redis/redis-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { SchedulerClient } from '../src/client/scheduler-client.js';
import { UsageError } from './usage.js';

/** Where the CLI's commands read and write: the options and variables every command shares. */
export interface Target {
  redis?: string;
  postgres?: string;
  prefix?: string;
  schema?: string;
}

/** A store the CLI talks to. */
export type Store = { kind: 'redis'; url: string; prefix?: string } | { kind: 'postgres'; url: string; schema?: string };

/** The store named by `--redis` / `--postgres` (or SCHEDKIT_REDIS_URL / SCHEDKIT_POSTGRES_URL): exactly one. */
export function storeOf(values: Target, env: NodeJS.ProcessEnv): Store {
  const redis = values.redis ?? (values.postgres === undefined ? env.SCHEDKIT_REDIS_URL : undefined);
  const postgres = values.postgres ?? (values.redis === undefined ? env.SCHEDKIT_POSTGRES_URL : undefined);
  if (redis !== undefined && postgres !== undefined) {
    throw new UsageError('give either --redis or --postgres (SCHEDKIT_REDIS_URL and SCHEDKIT_POSTGRES_URL are both set)');
  }
  if (redis !== undefined) {
    if (values.schema !== undefined) throw new UsageError('--schema applies to --postgres; with --redis use --prefix');
    return { kind: 'redis', url: redis, ...(values.prefix === undefined ? {} : { prefix: values.prefix }) };
  }
  if (postgres !== undefined) {
    if (values.prefix !== undefined) throw new UsageError('--prefix applies to --redis; with --postgres use --schema');
    return { kind: 'postgres', url: postgres, ...(values.schema === undefined ? {} : { schema: values.schema }) };
  }
  throw new UsageError('no store to talk to: give --redis URL or --postgres URL (or set SCHEDKIT_REDIS_URL or SCHEDKIT_POSTGRES_URL)');
}

/** A backend that the CLI connects and closes. */
export type ConnectedBackend = Backend & { connect(): Promise<void>; close(): Promise<void> };

/** A connected backend for the store; the caller closes it. PostgreSQL is loaded only when asked for (`pg` is optional). */
export async function openBackend(store: Store, options: { migrate?: boolean } = {}): Promise<ConnectedBackend> {
  let backend: ConnectedBackend;
  if (store.kind === 'redis') {
    backend = new RedisBackend({ connection: { url: store.url }, ...(store.prefix === undefined ? {} : { prefix: store.prefix }) });
  } else {
    const { PostgresBackend } = await import('../src/backend/postgres/postgres-backend.js');
    // Reading and managing never creates tables: a wrong URL or schema must not leave an empty schedkit schema behind.
    backend = new PostgresBackend({ connectionString: store.url, migrate: options.migrate ?? false, ...(store.schema === undefined ? {} : { schema: store.schema }) });
  }
  try {
    await backend.connect();
  } catch (error) {
    await backend.close();
    throw error;
  }
  return backend;
}

/** A client on the store, recorded in history as `schedkit-cli:<host>`; `close` ends the connection. */
export async function openClient(store: Store): Promise<{ client: SchedulerClient; close(): Promise<void> }> {
  const backend = await openBackend(store);
  const host = hostname().replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 180);
  const client = new SchedulerClient({ backend, config: { instanceId: `schedkit-cli:${host}` } });
  return { client, close: () => backend.close() };
}

/** Runs `body` with a client on the store the options name, closing it after. */
export async function withClient<T>(values: Target, env: NodeJS.ProcessEnv, body: (client: SchedulerClient) => Promise<T>): Promise<T> {
  const { client, close } = await openClient(storeOf(values, env));
  try {
    return await body(client);
  } finally {
    await close();
  }
}
