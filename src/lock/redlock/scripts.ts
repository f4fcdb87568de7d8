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

/** Reads a script, splicing in `--@include <name>` lines from `lua/includes/<name>.lua`. */
function loadLua(file: string): string {
  return readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/^--@include (\S+)$/gm, (_line, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8'),
  );
}

const SCRIPTS = {
  schedkitLockAcquire: { file: 'acquire-4.lua', keys: 4 },
  schedkitLockRelease: { file: 'release-4.lua', keys: 4 },
  schedkitLockFenceRaise: { file: 'fence-raise-2.lua', keys: 2 },
  schedkitLockQueueJoin: { file: 'queue-join-3.lua', keys: 3 },
  schedkitLockQueueLeave: { file: 'queue-leave-2.lua', keys: 2 },
  schedkitLockQueueWake: { file: 'queue-wake-2.lua', keys: 2 },
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

/** The wake-up channel of a namespace: messages are the ticket of the waiter to wake. */
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
  ])) as [number, number, string | null, number, number, number];
  return {
    granted: Number(reply[0]) === 1,
    fence: Number(reply[1]),
    holder: reply[2] ?? null,
    pttl: Number(reply[3]),
    ahead: Number(reply[4]),
    queued: Number(reply[5]) === 1,
  };
}

/** What the release does with the waiting queue (see release-4.lua). */
export type ReleaseMode =
  /** Not the queue master: only delete the key. */
  | { readonly kind: 'plain' }
  /** The only master: hand over to `handOver` (when its ticket is at the head), else wake the head. */
  | { readonly kind: 'serve'; readonly handOver: { readonly ticket: string; readonly value: string; readonly ttlMs: number } | undefined }
  /** The queue master of several: report whether anyone waits. */
  | { readonly kind: 'report' };

export interface ReleaseReply {
  /** The key held our value (it is now gone, or handed over). */
  readonly released: boolean;
  readonly next: 'none' | 'waiting' | 'handed-over';
  /** The fencing token of the handed-over lock. */
  readonly fence: number;
}

const RELEASE_MODE = { plain: '0', serve: '1', report: '2' } as const;
const NEXT = ['none', 'waiting', 'handed-over'] as const;

export async function lockRelease(client: RedisClient, keys: LockKeys, value: string, channel: string, mode: ReleaseMode): Promise<ReleaseReply> {
  const handOver = mode.kind === 'serve' ? mode.handOver : undefined;
  const reply = (await call(client, 'schedkitLockRelease', [
    keys.lock,
    keys.fence,
    keys.queue,
    keys.deadlines,
    value,
    channel,
    RELEASE_MODE[mode.kind],
    handOver?.ticket ?? '',
    handOver?.value ?? '',
    handOver?.ttlMs ?? 0,
  ])) as [number, number, number];
  return { released: Number(reply[0]) === 1, next: NEXT[Number(reply[1])] ?? 'none', fence: Number(reply[2]) };
}

/** True when the master's counter is now at least `token` while `value` still held the lock there. */
export async function raiseFence(client: RedisClient, keys: LockKeys, value: string, token: number): Promise<boolean> {
  return Number(await call(client, 'schedkitLockFenceRaise', [keys.lock, keys.fence, value, token])) === 1;
}

export async function queueJoin(
  client: RedisClient,
  keys: LockKeys,
  ticket: string,
  leaseMs: number,
): Promise<{ rank: number; pttl: number }> {
  const reply = (await call(client, 'schedkitLockQueueJoin', [keys.queue, keys.deadlines, keys.lock, ticket, leaseMs])) as [number, number];
  return { rank: Number(reply[0]), pttl: Number(reply[1]) };
}

export async function queueLeave(client: RedisClient, keys: LockKeys, ticket: string, channel: string, wakeNext: boolean): Promise<void> {
  await call(client, 'schedkitLockQueueLeave', [keys.queue, keys.deadlines, ticket, channel, wakeNext ? '1' : '0']);
}

export async function queueWake(client: RedisClient, keys: LockKeys, channel: string): Promise<void> {
  await call(client, 'schedkitLockQueueWake', [keys.queue, keys.deadlines, channel]);
}
