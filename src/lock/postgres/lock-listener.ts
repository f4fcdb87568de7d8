import type { Notification, Pool, PoolClient } from 'pg';

/**
 * The channel every `PostgresLock` listens on. A channel name is an
 * identifier (LISTEN takes no parameter) and a schema name may use all 63
 * characters an identifier has, so the channel is one fixed name and the
 * payload names the schema: `<schema>:<resource>`.
 */
export const LOCK_CHANNEL = 'schedkit_lock';

/** The wake-up payload for `resource` of the lock in `schemaName` (schema names hold no ':'). */
export function wakePayload(schemaName: string, resource: string): string {
  return `${schemaName}:${resource}`;
}

/**
 * The one listening connection of a `PostgresLock`: a client taken from the
 * pool for good, `LISTEN`ing on the lock channel, dispatching the wake-ups
 * of its schema by resource. It is opened when a first caller waits (a lock
 * nobody waits on never holds a connection for it) and given back destroyed,
 * so no session that listens returns to an application's pool.
 *
 * Best effort by design: a lost connection or a missed message only delays a
 * waiter until its next poll. It is reopened by the next wait, and every
 * waiter re-checks once it listens again (`onListening`).
 */
export class LockListener {
  #opening: Promise<void> | undefined;
  /** Gives the listening client back (destroyed), once. */
  #drop: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly schemaName: string,
    /** A wake-up for `resource` arrived. */
    private readonly onWake: (resource: string) => void,
    /** Listening (again): wake-ups sent while not listening were missed. */
    private readonly onListening: () => void,
  ) {}

  /** Listens (once; again after a lost connection). Rejects when the connection or LISTEN fails. */
  listen(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the lock listener is closed'));
    this.#opening ??= this.open().catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  /**
   * Stops listening and gives the connection back. Idempotent. A connection
   * still being opened (a pool with no free one) is not waited for: it is
   * given back as soon as it comes.
   */
  close(): void {
    this.#closed = true;
    this.#drop?.();
  }

  private async open(): Promise<void> {
    const client: PoolClient = await this.pool.connect();
    let gone = false;
    const drop = (): void => {
      if (gone) return;
      gone = true;
      if (this.#drop === drop) {
        this.#drop = undefined;
        this.#opening = undefined;
      }
      client.release(true);
    };
    // Unheard, an error on a client out of the pool would crash the process.
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (message: Notification) => this.dispatch(message));
    try {
      await client.query(`LISTEN ${LOCK_CHANNEL}`);
    } catch (error) {
      drop();
      throw error;
    }
    if (this.#closed || gone) {
      drop();
      throw new Error('the lock listener was closed or lost while it opened');
    }
    this.#drop = drop;
    this.onListening();
  }

  private dispatch(message: Notification): void {
    const prefix = `${this.schemaName}:`;
    if (message.channel !== LOCK_CHANNEL || message.payload === undefined || !message.payload.startsWith(prefix)) return;
    this.onWake(message.payload.slice(prefix.length));
  }
}
