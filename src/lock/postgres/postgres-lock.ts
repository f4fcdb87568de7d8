import type { Pool } from 'pg';
import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { asUnavailable, openPool } from '../../postgres/connection.js';
import { migrate } from '../../postgres/migrations.js';
import type { AcquireOptions, DistributedLock, LockLease, UsingOptions } from '../distributed-lock.js';
import { assertAcquire } from '../lock-input.js';
import { usingLock } from '../using-lock.js';
import { LockListener } from './lock-listener.js';
import { LOCK_MIGRATIONS } from './lock-migrations.js';
import { LockStatements } from './lock-statements.js';
import { attemptLock, LockWaiter, type WaitContext } from './lock-waiter.js';
import { resolvePostgresLockOptions, type PostgresLockOptions, type ResolvedPostgresLockOptions } from './options.js';
import { PostgresLease } from './postgres-lease.js';

export type { PostgresLockOptions, PostgresLockSettings } from './options.js';

/** How long `close()` lets waiters take their tickets off the queue. */
const CLOSE_WAITERS_MS = 2_000;

/**
 * A resource is a b-tree key, and a b-tree entry holds at most about 2,700
 * bytes. 1,000 characters (every lock's limit) is at most 3,000 bytes of
 * UTF-8, so the bytes are checked too, with the same error as other bad input.
 */
const MAX_RESOURCE_BYTES = 2_000;

/** A resource PostgreSQL can store, or `E_INVALID_ARGUMENT`: short enough to index, and without NUL, which text cannot hold. */
function assertIndexable(resource: string): void {
  const why = resource.includes('\u0000')
    ? 'must not contain NUL (U+0000) on PostgreSQL'
    : Buffer.byteLength(resource, 'utf8') > MAX_RESOURCE_BYTES
      ? `must be at most ${MAX_RESOURCE_BYTES} bytes in UTF-8 on PostgreSQL`
      : undefined;
  if (why !== undefined) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('lock.acquire', 'resource', why), { details: { field: 'resource' } });
  }
}

interface Opened {
  readonly pool: Pool;
  readonly owned: boolean;
  readonly context: WaitContext;
}

/**
 * A `DistributedLock` on PostgreSQL (node-postgres), for teams that run
 * PostgreSQL and no Redis.
 *
 * - **Leases are rows** of `lock_leases` (resource, owner, fencing token,
 *   `expires_at`), timed by the database's clock (`clock_timestamp()`), so
 *   the instances' clocks never decide who holds a lock. Session advisory
 *   locks are not used: they have no TTL and last as long as a connection,
 *   not as long as the holder's heartbeat. Taking a free or expired lock is
 *   one conditional statement (`INSERT ... ON CONFLICT ... DO UPDATE ...
 *   WHERE expired`); extending and releasing match the owner value, so a
 *   lease that was taken over can neither extend nor free its successor's.
 * - **Fencing tokens** strictly increase per resource: a resource's row is
 *   never deleted, and each acquisition adds one to its token.
 * - **Waiting** (`waitMs`) is first come, first served: tickets in
 *   `lock_waiters`, served in order; the release wakes the waiters with
 *   `NOTIFY` (one listening connection per lock, opened when a first caller
 *   waits), and a waiter also tries every second, so a lost notification
 *   (or a proxy that cannot `LISTEN`) only delays it. See `LockWaiter`.
 * - **Connection failures** reject with `BackendUnavailableError`
 *   (`E_BACKEND_UNAVAILABLE`); a failed extension with `LockLostError`
 *   (`E_LOCK_LOST`) saying why: expired, taken over or unreachable.
 *
 * The pool is made from `connectionString` and ended by `close()`, or is the
 * application's `pool`, which `close()` never ends. Tables are created on
 * first use (`migrate: true`) or by you (`postgresLockMigrationScript`).
 *
 * @example
 * const lock = new PostgresLock({ connectionString: process.env.DATABASE_URL! });
 * const lease = await lock.acquire('report:daily', { ttlMs: 30_000, waitMs: 5_000 });
 * if (lease) try { await work(lease.fencingToken); } finally { await lease.release(); }
 * await lock.close();
 */
export class PostgresLock implements DistributedLock {
  readonly #options: ResolvedPostgresLockOptions;
  #opened: Promise<Opened> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Local waiters per resource, oldest first: they queue in this order, and a wake-up goes to the first. */
  readonly #waiters = new Map<string, LockWaiter[]>();
  readonly #runs = new Set<Promise<unknown>>();

  /** Checks the options (`E_CONFIG`, every problem at once); connects on first use or `connect()`. */
  constructor(options: PostgresLockOptions) {
    this.#options = resolvePostgresLockOptions(options);
  }

  /**
   * Opens the pool (unless given one) and applies the lock's migrations
   * (unless `migrate: false`). Optional: the first `acquire` or `using` does
   * it; call it at start to fail early. Idempotent; after a failure the next
   * call tries again.
   */
  async connect(): Promise<void> {
    await this.open('PostgresLock.connect');
  }

  /**
   * Gives up waits in progress (their tickets leave the queue), stops
   * listening and ends the pool if the lock made it, never a pool it was
   * given. Leases still held are not released: they expire. Idempotent;
   * never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.shutdown();
    return this.#closing;
  }

  async acquire(resource: string, options: AcquireOptions): Promise<LockLease | null> {
    assertAcquire(resource, options);
    assertIndexable(resource);
    const opened = await this.open('PostgresLock.acquire');
    const { ttlMs, signal } = options;
    const waitMs = options.waitMs ?? 0;
    if (waitMs > 0 && signal?.aborted !== true) return this.wait(opened.context, resource, ttlMs, waitMs, signal);
    // Someone here already waits for it: the lock is not free for a newcomer.
    if (this.#waiters.has(resource)) return null;
    const out = await attemptLock(opened.context, resource, ttlMs, null);
    return out.won ? new PostgresLease(opened.context, resource, ttlMs, out.lock) : null;
  }

  using<T>(resource: string, options: UsingOptions, fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T): Promise<T> {
    return usingLock(this, this.#options.clock, resource, options, fn);
  }

  private async wait(context: WaitContext, resource: string, ttlMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<LockLease | null> {
    let queue = this.#waiters.get(resource);
    if (queue === undefined) this.#waiters.set(resource, (queue = []));
    const waiter = new LockWaiter(context, resource, ttlMs, this.#options.clock.now() + waitMs, signal, queue.at(-1)?.joined);
    queue.push(waiter);
    const run = waiter.run();
    this.#runs.add(run);
    try {
      const won = await run;
      return won === null ? null : new PostgresLease(context, resource, ttlMs, won);
    } finally {
      this.#runs.delete(run);
      queue.splice(queue.indexOf(waiter), 1);
      if (queue.length === 0 && this.#waiters.get(resource) === queue) this.#waiters.delete(resource);
    }
  }

  /** The oldest local waiter is the only one here that can be at the head of the queue. */
  private wakeFirst(resource: string): void {
    this.#waiters.get(resource)?.[0]?.wake();
  }

  private async open(call: string): Promise<Opened> {
    if (this.#closed) throw new SchedkitError(ErrorCode.NotStarted, messages.postgresLockClosed(call));
    this.#opened ??= this.connectOnce().catch((error: unknown) => {
      this.#opened = undefined;
      throw error;
    });
    const opened = await this.#opened;
    // close() may have ended the pool while this call waited for it.
    if (this.#closed) throw new SchedkitError(ErrorCode.NotStarted, messages.postgresLockClosed(call));
    return opened;
  }

  private async connectOnce(): Promise<Opened> {
    const { connection, schema, schemaName, clock } = this.#options;
    const { pool, owned } = await openPool(connection);
    if (this.#options.migrate) {
      try {
        await migrate(pool, schemaName, LOCK_MIGRATIONS);
      } catch (error) {
        if (owned) await pool.end().catch(() => undefined);
        throw asUnavailable(error, 'PostgresLock migrations');
      }
    }
    const statements = new LockStatements(pool, schema, schemaName);
    const listener = new LockListener(
      pool,
      schemaName,
      (resource) => this.wakeFirst(resource),
      () => {
        for (const resource of this.#waiters.keys()) this.wakeFirst(resource);
      },
    );
    return { pool, owned, context: { clock, statements, listener, isClosed: () => this.#closed } };
  }

  private async shutdown(): Promise<void> {
    this.#closed = true;
    const opened = await this.#opened?.catch(() => undefined);
    for (const queue of this.#waiters.values()) for (const waiter of queue) waiter.wake();
    if (this.#runs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.#runs]), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAITERS_MS)))]);
      clearTimeout(timer);
    }
    if (opened === undefined) return;
    opened.context.listener.close();
    if (opened.owned) await opened.pool.end().catch(() => undefined);
  }
}
