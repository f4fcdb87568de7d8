import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../redis/connection.js';

/**
 * The Lua scripts of `RedlockLock` (one file per operation under `lua/`, each
 * opening with its KEYS/ARGV/output), registered on every lock client with
 * ioredis `defineCommand`, and typed calls to them. redlock's own acquire,
 * extend and release scripts are redlock's; these go next to them.
 */

const LUA_DIR = new URL('./lua/', import.meta.url);

/** Reads a script, splicing in `--@include <name>` lines from `lua/includes/<name>.lua`. */
function loadLua(file: string): string {
  return readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/^--@include (\S+)$/gm, (_line, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8'),
  );
}

const SCRIPTS = {
  schedkitLockAttempt: { file: 'lock-attempt-4.lua', keys: 4 },
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

/** What one master said next to a lock attempt (see lock-attempt-4.lua). */
export interface AttemptReply {
  readonly fence: number;
  readonly holder: string | null;
  readonly pttl: number;
  readonly ahead: number;
  readonly queued: boolean;
}

export async function lockAttempt(
  client: RedisClient,
  keys: LockKeys,
  queue: { ticket: string; leaseMs: number } | undefined,
): Promise<AttemptReply> {
  const reply = (await call(client, 'schedkitLockAttempt', [
    keys.lock,
    keys.fence,
    keys.queue,
    keys.deadlines,
    queue === undefined ? '0' : '1',
    queue?.ticket ?? '',
    queue?.leaseMs ?? 0,
  ])) as [number, string | null, number, number, number];
  return { fence: Number(reply[0]), holder: reply[1] ?? null, pttl: Number(reply[2]), ahead: Number(reply[3]), queued: Number(reply[4]) === 1 };
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
