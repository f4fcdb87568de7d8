import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../redis/connection.js';

/**
 * The Lua scripts of `RedlockLock` (one file per operation under `lua/`, each
 * opening with its KEYS/ARGV/output), registered on every lock client with
 * ioredis `defineCommand`, and typed calls to them. Extensions go through
 * redlock's own extend script; acquire and release are these, because each
 * has to do its queue and fencing work in the same step as the key.
 */

const LUA_DIR = new URL('./lua/', import.meta.url);

/** Reads a script, splicing in `--@include <name>` lines from `lua/includes/<name>.lua` (in the order written). */
function loadLua(file: string): string {
  return readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/^--@include (\S+)$/gm, (_line, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8'),
  );
}

const SCRIPTS = {
  schedkitLockAcquire: { file: 'acquire-4.lua', keys: 4 },
  schedkitLockRelease: { file: 'release-4.lua', keys: 4 },
  schedkitLockFenceRaise: { file: 'fence-raise-2.lua', keys: 2 },
  schedkitLockQueueJoin: { file: 'queue-join-4.lua', keys: 4 },
  schedkitLockQueueLeave: { file: 'queue-leave-4.lua', keys: 4 },
} as const;

type ScriptName = keyof typeof SCRIPTS;

let sources: Record<ScriptName, string> | undefined;

/** Registers the lock scripts on a client (idempotent per client). */
export function defineLockScripts(client: RedisClient): void {
  sources ??= Object.fromEntries(Object.entries(SCRIPTS).map(([name, s]) => [name, loadLua(s.file)])) as Record<ScriptName, string>;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    client.defineCommand(name, { numberOfKeys: SCRIPTS[name].keys, lua: sources[name] });
  }
}

function call(client: RedisClient, name: ScriptName, args: Array<string | number>): Promise<unknown> {
  const command = (client as unknown as Record<ScriptName, (...a: Array<string | number>) => Promise<unknown>>)[name];
  return command.apply(client, args);
}

/** Every key one lock uses. All share the namespace's hash tag, so scripts work on Redis Cluster. */
export interface LockKeys {
  readonly lock: string;
  readonly fence: string;
  readonly queue: string;
  readonly deadlines: string;
}

/** `{prefix}:lock:<resource>`, `{prefix}:lock-queue:<resource>`, ... — no two resources share a key. */
export function lockKeys(prefix: string, resource: string): LockKeys {
  const tag = `{${prefix}}`;
  return {
    lock: `${tag}:lock:${resource}`,
    fence: `${tag}:lock-fence`,
    queue: `${tag}:lock-queue:${resource}`,
    deadlines: `${tag}:lock-queue-deadlines:${resource}`,
  };
}

/** How many resources' key names `LockKeyCache` keeps. */
const KEY_CACHE_SIZE = 1_024;

/**
 * `lockKeys` per resource, remembered: the same resources are locked again
 * and again (a job's lock, a hot key), and each acquire would build four
 * strings. Bounded: it starts over when full.
 */
export class LockKeyCache {
  readonly #keys = new Map<string, LockKeys>();

  constructor(private readonly prefix: string) {}

  get(resource: string): LockKeys {
    let keys = this.#keys.get(resource);
    if (keys === undefined) {
      if (this.#keys.size >= KEY_CACHE_SIZE) this.#keys.clear();
      keys = lockKeys(this.prefix, resource);
      this.#keys.set(resource, keys);
    }
    return keys;
  }
}

/**
 * The wake-up channel of a namespace. A message is either the ticket of a
 * waiter to wake (it then attempts), or a lock value granted to a waiter,
 * `<ticket>#<fence>` (it then holds the lock): see lua/includes/grant.lua.
 */
export function wakeChannel(prefix: string): string {
  return `{${prefix}}:lock-wake`;
}

/** What one master answered to a lock attempt (see acquire-4.lua). */
export interface AttemptReply {
  /** This master granted the lock to the attempt's value. */
  readonly granted: boolean;
  /** The fencing counter after this grant; 0 when not granted. */
  readonly fence: number;
  readonly holder: string | null;
  readonly pttl: number;
  readonly ahead: number;
  readonly queued: boolean;
  /** When not granted, on the queue master: the fencing counter as the call saw it. */
  readonly counter: number;
}

/** How an attempt deals with the waiting queue; only on the queue master. */
export interface AttemptQueue {
  /** '' for a caller without a ticket (it only learns how many wait). */
  readonly ticket: string;
  readonly leaseMs: number;
  /** Queue the ticket when the lock is not granted. */
  readonly join: boolean;
  /** Take the ticket off the queue when granted (only when this master alone decides). */
  readonly leaveOnGrant: boolean;
}

export async function lockAcquire(
  client: RedisClient,
  keys: LockKeys,
  value: string,
  ttlMs: number,
  queue: AttemptQueue | undefined,
): Promise<AttemptReply> {
  const reply = (await call(client, 'schedkitLockAcquire', [
    keys.lock,
    keys.fence,
    keys.queue,
    keys.deadlines,
    value,
    ttlMs,
    queue === undefined ? '0' : '1',
    queue?.ticket ?? '',
    queue?.leaseMs ?? 0,
    queue?.join === true ? '1' : '0',
    queue?.leaveOnGrant === true ? '1' : '0',
  ])) as [number, number, string | null, number, number, number, number] | [number, number, number];
  if (reply.length === 3) return { granted: true, fence: Number(reply[1]), holder: value, pttl: ttlMs, ahead: 0, queued: Number(reply[2]) === 1, counter: 0 };
  return {
    granted: Number(reply[0]) === 1,
    fence: Number(reply[1]),
    holder: reply[2] ?? null,
    pttl: Number(reply[3]),
    ahead: Number(reply[4]),
    queued: Number(reply[5]) === 1,
    counter: Number(reply[6]),
  };
}

/** What the release does with the waiting queue (see release-4.lua). */
export type ReleaseMode =
  /** Not the queue master: only delete the key. */
  | { readonly kind: 'plain' }
  /** The only master: grant the lock to the head; `quiet` is a local waiter's ticket, told by the reply instead of a message ('' for none). */
  | { readonly kind: 'serve'; readonly quiet: string }
  /** The queue master of several: wake the head; `quiet` as with 'serve'. */
  | { readonly kind: 'report'; readonly quiet: string };

export interface ReleaseReply {
  /** The key held our value (it is now gone, or granted on). */
  readonly released: boolean;
  readonly next: 'none' | 'waiting' | 'granted';
  /** The granted lock's fencing token; 0 unless granted. */
  readonly fence: number;
  /** The head's ticket, '' when nobody waits. */
  readonly head: string;
  /** The granted key's expiry (ms): the TTL for the `quiet` waiter, at most the head ticket's remaining lease for another; 0 unless granted. */
  readonly grantMs: number;
}

const RELEASE_MODE = { plain: '0', serve: '1', report: '2' } as const;
const NEXT = ['none', 'waiting', 'granted'] as const;

export async function lockRelease(client: RedisClient, keys: LockKeys, value: string, channel: string, mode: ReleaseMode): Promise<ReleaseReply> {
  const reply = (await call(client, 'schedkitLockRelease', [
    keys.lock,
    keys.fence,
    keys.queue,
    keys.deadlines,
    value,
    channel,
    RELEASE_MODE[mode.kind],
    mode.kind === 'plain' ? '' : mode.quiet,
  ])) as [number, number, number, string?, number?];
  return {
    released: Number(reply[0]) === 1,
    next: NEXT[Number(reply[1])] ?? 'none',
    fence: Number(reply[2]),
    head: reply[3] ?? '',
    grantMs: Number(reply[4] ?? 0),
  };
}

/** True when the master's counter is now at least `token` while `value` still held the lock there. */
export async function raiseFence(client: RedisClient, keys: LockKeys, value: string, token: number): Promise<boolean> {
  return Number(await call(client, 'schedkitLockFenceRaise', [keys.lock, keys.fence, value, token])) === 1;
}

/** A waiter's place after a join or renewal (see queue-join-4.lua). */
export type JoinReply =
  | { readonly granted: false; readonly rank: number; readonly pttl: number; readonly counter: number }
  /** The lock was granted to the ticket already (its message may be lost): `value` holds it, for `pttl` ms more. */
  | { readonly granted: true; readonly value: string; readonly pttl: number };

export async function queueJoin(client: RedisClient, keys: LockKeys, ticket: string, leaseMs: number): Promise<JoinReply> {
  const reply = (await call(client, 'schedkitLockQueueJoin', [keys.queue, keys.deadlines, keys.lock, keys.fence, ticket, leaseMs])) as [
    number,
    number,
    number,
    string?,
  ];
  if (typeof reply[3] === 'string') return { granted: true, value: reply[3], pttl: Number(reply[1]) };
  return { granted: false, rank: Number(reply[0]), pttl: Number(reply[1]), counter: Number(reply[2]) };
}

/** How a waiter leaves the queue (see queue-leave-4.lua). */
export type LeaveMode =
  /** It won: only take the ticket off. */
  | 'won'
  /** It gave up, on the only master: give back a lock granted meanwhile, serve the next waiter. */
  | 'gave-up-serve'
  /** It gave up, on the queue master of several: wake the next head. */
  | 'gave-up-wake';

const LEAVE_MODE = { won: '0', 'gave-up-serve': '1', 'gave-up-wake': '2' } as const;

/** 'gave-back' when a lock granted to the ticket was given back. */
export async function queueLeave(client: RedisClient, keys: LockKeys, ticket: string, channel: string, mode: LeaveMode): Promise<'absent' | 'left' | 'gave-back'> {
  const reply = Number(await call(client, 'schedkitLockQueueLeave', [keys.queue, keys.deadlines, keys.lock, keys.fence, ticket, channel, LEAVE_MODE[mode]]));
  return reply === 2 ? 'gave-back' : reply === 1 ? 'left' : 'absent';
}
