/**
 * A lock granted to a waiter by a release, on a lock with one master
 * (lua/includes/grant.lua): the formats both sides share, and how the waiter
 * dates the grant.
 */

/**
 * A waiter's ticket, `<instance>.<n>/<ttlMs>`: unique per wait (the lock
 * instance's random id and a count), naming the instance, whose own wake-up
 * channel reaches it (`instanceChannel`), and the TTL the waiter asked for, so
 * a release can grant it the lock without a lookup.
 */
export function newTicket(instance: string, n: number, ttlMs: number): string {
  return `${instance}.${n}/${ttlMs}`;
}

/** The wake-up channel of one lock instance: messages for its tickets only (see `channelOf` in lua/includes/queue.lua). */
export function instanceChannel(channel: string, instance: string): string {
  return `${channel}:${instance}`;
}

/** A lock value granted to a waiter: `<ticket>#<fence>`. */
export interface Grant {
  readonly ticket: string;
  /** The value the lock key holds: the waiter's hold. */
  readonly value: string;
  /** Its fencing token (the counter's value after the grant's INCR). */
  readonly fence: number;
}

/**
 * What the reply of this process's own release says of a grant it made: the
 * grant came after `sentAt` (our clock, the release's send time), and the key
 * was set to expire `ms` later (the TTL when the waiter was named quiet; else
 * at most the ticket's remaining lease, see lua/includes/grant.lua).
 */
export interface ReleasedGrant {
  readonly sentAt: number;
  readonly ms: number;
}

export function grantOf(ticket: string, fence: number): Grant {
  return { ticket, value: `${ticket}#${fence}`, fence };
}

/** Reads a wake-up channel message (or a lock value): the grant it names, or undefined for a bare ticket (a wake-up). */
export function parseGrant(text: string): Grant | undefined {
  const at = text.lastIndexOf('#');
  if (at < 0) return undefined;
  const fence = Number(text.slice(at + 1));
  if (!Number.isSafeInteger(fence) || fence <= 0) return undefined;
  return { ticket: text.slice(0, at), value: text, fence };
}

/**
 * When was a lock granted to this waiter, by the waiter's clock? The granted
 * key is ours until the moment it was set + its expiry - drift; the grant
 * message cannot say when that was (it carries no time: clocks differ), so
 * the waiter bounds it from below with its own calls to the queue master:
 *  - a grant comes after the call that queued the ticket;
 *  - it also comes after every call whose reply showed the ticket still
 *    waiting with the fencing counter below the grant's fence: the counter
 *    only goes up, and the grant's own INCR took it to the fence.
 * The latest such call's send time is the bound (a Redlock acquire is dated
 * by its send time the same way). Each of those calls also renewed the
 * ticket's lease, and a grant to another process expires when that lease
 * does (or at the TTL, if sooner): so the grant is the waiter's until at
 * least the bound + min(TTL, ticket lease) - drift, long enough to extend it. A reply that showed the ticket waiting with
 * the counter at or above the fence came after the grant and found it gone
 * (it expired while the message was on its way): that grant is stale.
 * One master only: the counter is that master's.
 */
export class GrantDating {
  #sentAt = Number.NEGATIVE_INFINITY;
  /** -1 until a reply came: the bound is then the first call's send time. */
  #counter = -1;

  /** A call that may queue the ticket is going out at `sentAt`. */
  sending(sentAt: number): void {
    if (this.#sentAt === Number.NEGATIVE_INFINITY) this.#sentAt = sentAt;
  }

  /** The reply to a call sent at `sentAt` showed the ticket waiting, with the counter at `counter`. */
  waiting(sentAt: number, counter: number): void {
    this.#sentAt = sentAt;
    this.#counter = counter;
  }

  /** A lower bound (our clock) of when the lock was granted with `fence`; undefined when that grant is stale. */
  since(fence: number): number | undefined {
    if (this.#counter >= fence || this.#sentAt === Number.NEGATIVE_INFINITY) return undefined;
    return this.#sentAt;
  }
}
