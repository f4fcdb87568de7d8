import type { Cluster, Redis } from 'ioredis';
import type { CancelledRunRef } from '../backend.js';
import { RunsChangedNotifier } from '../runs-changed-notifier.js';
import { BackendUnavailableError } from '../../errors/schedkit-error.js';
import { messages, type ConnectedBy } from '../../errors/messages.js';
import {
  closeClient,
  connectClient,
  createClient,
  toBackendError,
  type RedisClient,
  type RedisConnection,
} from '../../redis/connection.js';
import { registerScripts } from './scripts.js';

/**
 * The connection state of `RedisBackend`: the command client, the pub/sub
 * client that carries `onRunsChanged` and `onRunCancelled`, and the idle → connecting → connected
 * → closed transitions. Separate from the backend's operations so those read
 * as "encode, call the script, decode" and never handle state.
 */

type State = 'idle' | 'connecting' | 'connected' | 'closed';

/** The clients of one `RedisBackend` and their lifecycle. */
export class RedisBackendConnection {
  private client: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private state: State = 'idle';
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly runsChanged = new RunsChangedNotifier();
  private readonly runCancelled = new Set<(run: CancelledRunRef) => void>();

  constructor(
    /** The pub/sub channel published when pending runs may have become claimable. */
    private readonly channel: string,
    /** The pub/sub channel published with `<key>#<id>` when a running run is to be aborted. */
    private readonly cancelChannel: string,
    private readonly connection: RedisConnection | undefined,
    /** A client passed in by the user: used, never closed. */
    private readonly provided: RedisClient | undefined,
    /** Who calls `connect()`, so "not connected" names the right fix. */
    private readonly connectedBy: ConnectedBy = 'caller',
  ) {}

  /**
   * Connects the command client and the pub/sub client and registers the
   * scripts. Idempotent (a concurrent call shares the attempt); after a
   * failure it may be called again. Rejects with `E_BACKEND_UNAVAILABLE`.
   */
  async connect(): Promise<void> {
    if (this.state === 'connected') return;
    if (this.state === 'closed') throw new BackendUnavailableError(messages.backendClosed('connect'));
    this.connecting ??= this.open().catch(async (error: unknown) => {
      await this.release();
      this.connecting = undefined;
      if (this.state === 'connecting') this.state = 'idle';
      throw toBackendError(error, 'RedisBackend.connect');
    });
    return this.connecting;
  }

  /** Quits the connections this backend opened (never a client passed in). Idempotent; never rejects. */
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
    const client = this.provided ?? createClient(this.connection!, 'backend');
    this.client = client;
    registerScripts(client);
    await connectClient(client, 'RedisBackend');
    const subscriber = this.connection !== undefined ? createClient(this.connection, 'backend-events') : duplicate(client);
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.runsChanged.notify();
      else if (channel === this.cancelChannel) this.cancelled(message);
    });
    await connectClient(subscriber, 'RedisBackend events');
    await subscriber.subscribe(this.channel, this.cancelChannel);
    // Messages published while the subscriber was reconnecting are lost:
    // wake the listeners once it is back (best effort, they poll anyway).
    subscriber.on('ready', () => {
      if (this.state === 'connected') this.runsChanged.notify();
    });
    if (this.state !== 'connecting') throw new BackendUnavailableError(messages.backendClosed('connect'));
    this.state = 'connected';
  }

  private async release(): Promise<void> {
    const { client, subscriber } = this;
    this.client = undefined;
    this.subscriber = undefined;
    await Promise.all([
      subscriber === undefined ? undefined : closeClient(subscriber),
      client === undefined || client === this.provided ? undefined : closeClient(client),
    ]);
  }

  /** The command client, or `E_BACKEND_UNAVAILABLE` before `connect` / after `close`. */
  private ready(call: string): RedisClient {
    if (this.state === 'connected' && this.client !== undefined) return this.client;
    throw new BackendUnavailableError(
      this.state === 'closed' ? messages.backendClosed(call) : messages.backendNotConnected(call, this.connectedBy),
    );
  }

  /** Runs one backend call: not connected or Redis unreachable → `E_BACKEND_UNAVAILABLE`. */
  async exec<T>(call: string, body: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.ready(call);
    try {
      return await body(client);
    } catch (error) {
      throw toBackendError(error, `RedisBackend.${call}`);
    }
  }

  /** Adds a listener woken when pending runs may have become claimable; returns its removal. */
  onRunsChanged(listener: () => void): () => void {
    return this.runsChanged.subscribe(listener);
  }

  /** Adds a listener told which running run `cancelRun` asked to abort; returns its removal. */
  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void {
    this.runCancelled.add(listener);
    return () => {
      this.runCancelled.delete(listener);
    };
  }

  /** Tells the listeners of a `<key>#<id>` published on the cancel channel (a job key never contains `#`). */
  private cancelled(ref: string): void {
    const at = ref.indexOf('#');
    if (at < 0) return;
    const run: CancelledRunRef = { key: ref.slice(0, at), id: ref.slice(at + 1) };
    for (const listener of this.runCancelled) {
      queueMicrotask(() => {
        if (!this.runCancelled.has(listener)) return;
        try {
          listener({ ...run });
        } catch {
          // Best effort by contract: a listener's failure is its own business.
        }
      });
    }
  }
}

// ---- helpers -----------------------------------------------------------------

/** A second connection like `client` (for pub/sub). */
function duplicate(client: RedisClient): RedisClient {
  return client.isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
}
