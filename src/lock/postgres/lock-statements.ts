import type { Pool, QueryResultRow } from 'pg';
import { asUnavailable } from '../../postgres/connection.js';
import { LOCK_CHANNEL, wakePayload } from './lock-listener.js';

/**
 * What an acquire attempt found: the lock, or why not (for how long the
 * holder's lease still runs by the database's clock, how many live tickets
 * are ahead of the caller's, and whether the caller's ticket is still queued).
 */
export type Attempt =
  | { readonly won: true; readonly fencingToken: number; readonly expiresAt: number }
  | { readonly won: false; readonly heldMs: number; readonly ahead: number; readonly queued: boolean };

/** What an extension found: the new expiry, or the resource's row as it was (for the loss reason). */
export type Extension =
  | { readonly extended: true; readonly expiresAt: number }
  | { readonly extended: false; readonly fence: number | undefined; readonly expiresAt: number | undefined };

const MS = `* interval '1 millisecond'`;
const epochMs = (timestamp: string): string => `(extract(epoch FROM ${timestamp}) * 1000)::float8`;

/**
 * The lock's statements on its tables, one round trip each. Only the checked
 * schema name is part of the statement text; every value is a bound
 * parameter. Times are the database's (`clock_timestamp()`), so the
 * instances' clocks never decide who holds a lock. Connection failures
 * reject with `E_BACKEND_UNAVAILABLE`.
 */
export class LockStatements {
  readonly #acquire: string;
  readonly #extend: string;
  readonly #release: string;
  readonly #join: string;
  readonly #leave: string;

  constructor(
    private readonly pool: Pool,
    /** The quoted schema, for statement text. */
    schema: string,
    /** The plain schema name, which wake-up payloads carry. */
    private readonly schemaName: string,
  ) {
    const leases = `${schema}.lock_leases`;
    const waiters = `${schema}.lock_waiters`;
    const live = `w.resource = $1 AND w.lease_until > clock_timestamp()`;
    const aheadOf = `($4::bigint IS NULL OR w.id < $4::bigint)`;
    // $1 resource, $2 owner, $3 ttl ms, $4 the caller's ticket (null: none), $5 ticket lease ms.
    // Takes the lock when it is free or expired and no live ticket is ahead
    // of the caller (a newcomer has none: every waiter is ahead of it). The
    // row is never deleted, so `fence + 1` continues the resource's tokens.
    // A ticket served is removed, a ticket not served is renewed, in the
    // same statement.
    this.#acquire = `WITH taken AS (
  INSERT INTO ${leases} AS l (resource, owner, fence, expires_at)
  SELECT $1::text, $2::text, 1, clock_timestamp() + $3::float8 ${MS}
  WHERE NOT EXISTS (SELECT FROM ${waiters} w WHERE ${live} AND ${aheadOf})
  ON CONFLICT (resource) DO UPDATE SET owner = excluded.owner, fence = l.fence + 1, expires_at = excluded.expires_at
  WHERE l.expires_at <= clock_timestamp()
  RETURNING l.fence, l.expires_at
), served AS (
  DELETE FROM ${waiters} WHERE id = $4::bigint AND EXISTS (SELECT FROM taken)
), renewed AS (
  UPDATE ${waiters} SET lease_until = clock_timestamp() + $5::float8 ${MS}
  WHERE id = $4::bigint AND lease_until > clock_timestamp() AND NOT EXISTS (SELECT FROM taken)
  RETURNING id
)
SELECT t.fence, ${epochMs('t.expires_at')} AS expires_ms,
  coalesce((SELECT greatest(0, extract(epoch FROM l.expires_at - clock_timestamp()) * 1000) FROM ${leases} l WHERE l.resource = $1), 0)::float8 AS held_ms,
  (SELECT count(*) FROM ${waiters} w WHERE ${live} AND ${aheadOf})::int AS ahead,
  EXISTS (SELECT FROM renewed) AS queued
FROM (SELECT 1) AS one LEFT JOIN taken t ON true`;
    // $1 resource, $2 owner, $3 ttl ms. Only the owner, and only before expiry.
    this.#extend = `WITH extended AS (
  UPDATE ${leases} SET expires_at = clock_timestamp() + $3::float8 ${MS}
  WHERE resource = $1 AND owner = $2 AND expires_at > clock_timestamp()
  RETURNING expires_at
)
SELECT (SELECT ${epochMs('expires_at')} FROM extended) AS expires_ms, l.fence, ${epochMs('l.expires_at')} AS was_ms
FROM (SELECT 1) AS one LEFT JOIN ${leases} l ON l.resource = $1`;
    // $1 resource, $2 owner, $3 channel, $4 payload. Wakes the waiters only when there are some.
    this.#release = `WITH freed AS (
  UPDATE ${leases} SET expires_at = clock_timestamp()
  WHERE resource = $1 AND owner = $2 AND expires_at > clock_timestamp()
  RETURNING resource
)
SELECT pg_notify($3, $4) FROM freed WHERE EXISTS (SELECT FROM ${waiters} w WHERE ${live})`;
    // $1 resource, $2 ticket lease ms. Lapsed tickets of the resource are dropped on the way.
    this.#join = `WITH pruned AS (
  DELETE FROM ${waiters} WHERE resource = $1 AND lease_until <= clock_timestamp()
)
INSERT INTO ${waiters} (resource, lease_until) VALUES ($1, clock_timestamp() + $2::float8 ${MS}) RETURNING id`;
    // $1 resource, $2 ticket, $3 channel, $4 payload. A waiter that gives up
    // while the lock is free passes the turn on: the next waiter is woken.
    this.#leave = `WITH gone AS (DELETE FROM ${waiters} WHERE id = $2::bigint RETURNING id)
SELECT pg_notify($3, $4) FROM gone
WHERE EXISTS (SELECT FROM ${waiters} w WHERE ${live} AND w.id <> $2::bigint)
  AND NOT EXISTS (SELECT FROM ${leases} l WHERE l.resource = $1 AND l.expires_at > clock_timestamp())`;
  }

  /** Tries the lock for `owner`: as a newcomer (`ticket` null) or as the waiter holding `ticket`. */
  async attempt(resource: string, owner: string, ttlMs: number, ticket: string | null, ticketLeaseMs: number, where: string): Promise<Attempt> {
    interface Row extends QueryResultRow {
      fence: string | number | null;
      expires_ms: number | null;
      held_ms: number;
      ahead: number;
      queued: boolean;
    }
    const [row] = await this.run<Row>(this.#acquire, [resource, owner, ttlMs, ticket, ticketLeaseMs], where);
    if (row !== undefined && row.fence !== null && row.expires_ms !== null) {
      return { won: true, fencingToken: Number(row.fence), expiresAt: Number(row.expires_ms) };
    }
    return { won: false, heldMs: Number(row?.held_ms ?? 0), ahead: Number(row?.ahead ?? 0), queued: row?.queued === true };
  }

  /** Pushes the owner's lease to now + `ttlMs` (database clock), if it is still the owner's and unexpired. */
  async extend(resource: string, owner: string, ttlMs: number, where: string): Promise<Extension> {
    interface Row extends QueryResultRow {
      expires_ms: number | null;
      fence: string | number | null;
      was_ms: number | null;
    }
    const [row] = await this.run<Row>(this.#extend, [resource, owner, ttlMs], where);
    if (row !== undefined && row.expires_ms !== null) return { extended: true, expiresAt: Number(row.expires_ms) };
    return {
      extended: false,
      fence: row?.fence === null || row === undefined ? undefined : Number(row.fence),
      expiresAt: row?.was_ms === null || row === undefined ? undefined : Number(row.was_ms),
    };
  }

  /** Ends the owner's lease, waking the resource's waiters if there are any. */
  async release(resource: string, owner: string, where: string): Promise<void> {
    await this.run(this.#release, [resource, owner, LOCK_CHANNEL, wakePayload(this.schemaName, resource)], where);
  }

  /** Puts a new ticket at the tail of the resource's queue; answers its id. */
  async join(resource: string, ticketLeaseMs: number, where: string): Promise<string> {
    const [row] = await this.run<{ id: string | number }>(this.#join, [resource, ticketLeaseMs], where);
    return String(row!.id);
  }

  /** Takes a ticket off the queue, waking the next waiter when the lock is free. */
  async leave(resource: string, ticket: string, where: string): Promise<void> {
    await this.run(this.#leave, [resource, ticket, LOCK_CHANNEL, wakePayload(this.schemaName, resource)], where);
  }

  private async run<R extends QueryResultRow>(text: string, values: unknown[], where: string): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw asUnavailable(error, where);
    }
  }
}
