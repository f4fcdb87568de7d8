import type { Notification, Pool, PoolClient } from 'pg';
import type { CancelledRunRef } from '../backend.js';
import { CancelledRunsNotifier } from '../cancelled-runs-notifier.js';
import { RunsChangedNotifier } from '../runs-changed-notifier.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import { asUnavailable, openPool, type OpenedPool } from '../../postgres/connection.js';
import { migrate } from '../../postgres/migrations.js';
import { BACKEND_MIGRATIONS } from './migrations.js';
import type { ResolvedPostgresBackendOptions } from './postgres-backend-options.js';
import { RUN_CANCELLED_CHANNEL, RUNS_CHANGED_CHANNEL } from './sql/common.js';

/**
 * The connection state of `PostgresBackend`: the pool, the one client kept
 * for `LISTEN` (runs changed, run cancelled), and the idle → connecting →
 * connected → closed transitions. Separate from the backend's operations so
 * those read as "call the function, read its answer" and never handle state.
 */

type State = 'idle' | 'connecting' | 'connected' | 'closed';

/** A listening client lost is replaced after this long (and every this long until it works). */
const RELISTEN_MS = 1_000;
/** Times a call is run again after the database aborted it for a deadlock or a serialization failure. */
const RETRIES = 3;

export class PostgresBackendConnection {
  private state: State = 'idle';
  private opened: OpenedPool | undefined;
  private listener: PoolClient | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly runsChanged = new RunsChangedNotifier();
  private readonly runCancelled = new CancelledRunsNotifier();

  constructor(private readonly options: ResolvedPostgresBackendOptions) {}

  /**
   * Opens the pool, applies the migrations (unless `migrate: false`) and
   * starts listening. Idempotent (a concurrent call shares the attempt);
   * after a failure it may be called again. Rejects with
   * `E_BACKEND_UNAVAILABLE` when PostgreSQL cannot be reached.
   */
  async connect(): Promise<void> {
    if (this.state === 'connected') return;
    if (this.state === 'closed') throw new BackendUnavailableError(messages.backendClosed('connect', 'PostgresBackend'));
    this.connecting ??= this.open().catch(async (error: unknown) => {
      await this.release();
      this.connecting = undefined;
      if (this.state === 'connecting') this.state = 'idle';
      throw asUnavailable(error, 'PostgresBackend.connect');
    });
    return this.connecting;
  }

  /** Stops listening and ends the pool if this backend made it (never a pool given). Idempotent; never rejects. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      const pending = this.connecting;
      this.state = 'closed';
      this.runsChanged.clear();
      this.runCancelled.clear();
      if (pending !== undefined) await pending.catch(() => undefined);
      await this.release();
    })();
    return this.closing;
  }

  private async open(): Promise<void> {
    this.state = 'connecting';
    this.opened ??= await openPool(this.options.connection);
    if (this.options.migrate) await migrate(this.opened.pool, this.options.schemaName, BACKEND_MIGRATIONS);
    await this.listen(this.opened.pool);
    if (this.state !== 'connecting') throw new BackendUnavailableError(messages.backendClosed('connect', 'PostgresBackend'));
    this.state = 'connected';
  }

  /** Checks out the listening client and subscribes it to both channels. */
  private async listen(pool: Pool): Promise<void> {
    const client = await pool.connect();
    client.on('notification', (notice) => this.heard(notice));
    // A checked-out client that loses its connection emits 'error': unheard, it would crash the process.
    client.on('error', () => this.lost(client));
    try {
      await client.query(`LISTEN ${RUNS_CHANGED_CHANNEL}; LISTEN ${RUN_CANCELLED_CHANNEL}`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.listener = client;
  }

  /** The listening client broke: replace it, and wake the listeners once it is back (notices sent meanwhile are lost). */
  private lost(client: PoolClient): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.release(true);
    this.scheduleRelisten();
  }

  private scheduleRelisten(): void {
    if (this.state === 'closed' || this.relisten !== undefined) return;
    this.relisten = setTimeout(() => {
      this.relisten = undefined;
      const pool = this.opened?.pool;
      if (pool === undefined || this.state === 'closed') return;
      this.listen(pool).then(
        () => {
          if (this.state === 'closed') this.dropListener();
          else this.runsChanged.notify();
        },
        () => this.scheduleRelisten(),
      );
    }, RELISTEN_MS);
    this.relisten.unref();
  }

  private heard(notice: Notification): void {
    const payload = notice.payload ?? '';
    if (notice.channel === RUNS_CHANGED_CHANNEL) {
      if (payload === this.options.schemaName) this.runsChanged.notify();
      return;
    }
    if (notice.channel !== RUN_CANCELLED_CHANNEL) return;
    let ref: { schema?: unknown; key?: unknown; id?: unknown };
    try {
      ref = JSON.parse(payload) as typeof ref;
    } catch {
      return;
    }
    if (ref.schema !== this.options.schemaName || typeof ref.key !== 'string' || typeof ref.id !== 'string') return;
    this.runCancelled.notify({ key: ref.key, id: ref.id });
  }

  private dropListener(): void {
    const client = this.listener;
    this.listener = undefined;
    // Destroyed rather than returned: a pooled connection must not keep listening.
    client?.release(true);
  }

  private async release(): Promise<void> {
    if (this.relisten !== undefined) clearTimeout(this.relisten);
    this.relisten = undefined;
    this.dropListener();
    const opened = this.opened;
    this.opened = undefined;
    if (opened?.owned) await opened.pool.end().catch(() => undefined);
  }

  /** The pool, or `E_BACKEND_UNAVAILABLE` before `connect` / after `close`. */
  private ready(call: string): Pool {
    if (this.state === 'connected' && this.opened !== undefined) return this.opened.pool;
    throw new BackendUnavailableError(
      this.state === 'closed'
        ? messages.backendClosed(call, 'PostgresBackend')
        : messages.backendNotConnected(call, this.options.connectedBy, 'PostgresBackend'),
    );
  }

  /**
   * Runs one backend call: not connected or PostgreSQL unreachable →
   * `E_BACKEND_UNAVAILABLE`. A call the database aborted for a deadlock or a
   * serialization failure changed nothing (each call is one statement, its
   * own transaction), so it is run again.
   */
  async exec<T>(call: string, body: (pool: Pool) => Promise<T>): Promise<T> {
    const pool = this.ready(call);
    for (let attempt = 1; ; attempt++) {
      try {
        return await body(pool);
      } catch (error) {
        if (attempt <= RETRIES && isTransient(error)) continue;
        throw asUnavailable(error, `PostgresBackend.${call}`);
      }
    }
  }

  /** Adds a listener woken when pending runs may have become claimable; returns its removal. */
  onRunsChanged(listener: () => void): () => void {
    return this.runsChanged.subscribe(listener);
  }

  /** Adds a listener told which running run `cancelRun` asked to abort; returns its removal. */
  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void {
    return this.runCancelled.subscribe(listener);
  }
}

/** Deadlock detected (40P01) or serialization failure (40001): the statement was rolled back whole. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
