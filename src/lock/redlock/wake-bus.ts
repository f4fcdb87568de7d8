import { closeClient, connectClient, createClient, type RedisClient, type RedisConnection } from '../../redis/connection.js';

/**
 * The one subscriber connection of a `RedlockLock`: it listens on the queue
 * master for messages to its waiters, where a release (or a waiter giving up
 * at the head) publishes a lock granted to a waiter, or the ticket of the
 * waiter to wake. Messages are dispatched to local waiters by ticket; one
 * connection serves every waiter of the lock. It follows the queue master
 * when that moves.
 *
 * It listens on the instance's own channel, so a message wakes only the
 * process it is for, and on the namespace's channel, where an older
 * schedkit publishes every wake-up.
 */
export class WakeBus {
  #client: RedisClient | undefined;
  #master = -1;
  #subscribed: Promise<void> | undefined;
  /** The master whose channel we are subscribed to right now (-1: none). */
  #listening = -1;
  #closed = false;

  constructor(
    private readonly connections: readonly RedisConnection[],
    /** The namespace's channel and the instance's own. */
    private readonly channels: readonly string[],
    /** A message (a ticket to wake, or a granted lock value) arrived. */
    private readonly onWake: (message: string) => void,
    /** The subscription was re-established after a disconnection: wake-ups may have been missed. */
    private readonly onResubscribed: () => void,
  ) {}

  /** True while subscribed on `master`: a ticket queued there now cannot miss its wake-up. */
  isListeningOn(master: number): boolean {
    return this.#listening === master && !this.#closed;
  }

  /** Subscribes on `master` (moving off another master if needed). Rejects when it cannot. */
  listenOn(master: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the wake-up subscriber is closed'));
    if (this.#master === master && this.#subscribed !== undefined) return this.#subscribed;
    const previous = this.#client;
    this.#listening = -1;
    if (previous !== undefined) void closeClient(previous);
    const client = createClient(this.connections[master]!, 'lock-subscriber');
    this.#client = client;
    this.#master = master;
    const subscribed = this.subscribe(client);
    this.#subscribed = subscribed;
    subscribed.then(
      () => {
        if (this.#subscribed === subscribed) this.#listening = master;
      },
      () => undefined,
    );
    subscribed.catch(() => {
      // Let the next call try again.
      if (this.#subscribed === subscribed) {
        this.#subscribed = undefined;
        this.#master = -1;
        this.#client = undefined;
        void closeClient(client);
      }
    });
    return subscribed;
  }

  private async subscribe(client: RedisClient): Promise<void> {
    client.on('message', (channel: string, message: string) => {
      if (this.channels.includes(channel)) this.onWake(message);
    });
    await connectClient(client, 'RedlockLock wake-up subscriber', 5_000);
    await client.subscribe(...this.channels);
    // ioredis resubscribes by itself after a reconnection; waiters re-check
    // then, since a wake-up published in between is lost. While it is away,
    // acquires do not queue themselves in passing (their waiter joins after
    // listening).
    client.on('close', () => {
      if (this.#client === client) this.#listening = -1;
    });
    client.on('ready', () => {
      if (this.#client === client && this.#subscribed !== undefined) void this.#subscribed.then(() => (this.#listening = this.#master));
      this.onResubscribed();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = -1;
    const client = this.#client;
    this.#client = undefined;
    this.#subscribed = undefined;
    if (client !== undefined) await closeClient(client);
  }
}
