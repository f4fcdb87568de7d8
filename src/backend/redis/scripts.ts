import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import type { ScheduleDescriptor } from '../../schedule/schedule.js';
import type { ClaimedRun, HistoryEntry, RunOutcome, RunSummary, StoredJob } from '../backend.js';
import { unexpectedReply } from './script-errors.js';

/**
 * The Lua scripts of the Redis backend: one file per operation in `./lua/`,
 * each opening with a KEYS/ARGV/output header, registered on a client with
 * ioredis `defineCommand` (standalone and Cluster alike: every key of a
 * namespace shares one hash tag). Also the decoders of their replies.
 *
 * The `.lua` files are read next to this module (`import.meta.url`), so the
 * build copies `src/backend/redis/lua/**` into `dist/src/backend/redis/lua/`.
 */

/** What a script takes after its keys: text or numbers (ioredis sends both as bulk strings). */
export type ScriptArg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    schedkitTime(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitHeartbeatInstance(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitUpsertJobs(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitTouchJobs(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitGetJob(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitListJobs(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitSetPaused(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitRemoveJob(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitClaimSlots(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitEnqueueRun(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitClaimDueRuns(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitNextDue(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitHeartbeat(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitFinishRuns(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitReapStalled(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitReleaseClaims(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitSweep(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitSyncFilter(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitGetRun(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitListRuns(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitCancelRun(...args: ScriptArg[]): Result<unknown, Context>;
    schedkitRescheduleRun(...args: ScriptArg[]): Result<unknown, Context>;
  }
}

interface ScriptDefinition {
  /** File in `./lua/`. */
  readonly file: string;
  /** How many leading arguments are KEYS (they route the call on Cluster). */
  readonly keys: number;
}

/** Every script, by the ioredis command it is registered as. */
export const SCRIPTS = {
  schedkitTime: { file: 'time.lua', keys: 1 },
  schedkitHeartbeatInstance: { file: 'heartbeat-instance.lua', keys: 2 },
  schedkitUpsertJobs: { file: 'upsert-jobs.lua', keys: 3 },
  schedkitTouchJobs: { file: 'touch-jobs.lua', keys: 1 },
  schedkitGetJob: { file: 'get-job.lua', keys: 1 },
  schedkitListJobs: { file: 'list-jobs.lua', keys: 1 },
  schedkitSetPaused: { file: 'set-paused.lua', keys: 1 },
  schedkitRemoveJob: { file: 'remove-job.lua', keys: 2 },
  schedkitClaimSlots: { file: 'claim-slots.lua', keys: 2 },
  schedkitEnqueueRun: { file: 'enqueue-run.lua', keys: 3 },
  schedkitClaimDueRuns: { file: 'claim-due-runs.lua', keys: 3 },
  schedkitNextDue: { file: 'next-due.lua', keys: 1 },
  schedkitHeartbeat: { file: 'heartbeat.lua', keys: 1 },
  schedkitFinishRuns: { file: 'finish-runs.lua', keys: 3 },
  schedkitReapStalled: { file: 'reap-stalled.lua', keys: 4 },
  schedkitReleaseClaims: { file: 'release-claims.lua', keys: 2 },
  schedkitSweep: { file: 'sweep.lua', keys: 3 },
  schedkitSyncFilter: { file: 'sync-filter.lua', keys: 1 },
  schedkitGetRun: { file: 'get-run.lua', keys: 1 },
  schedkitListRuns: { file: 'list-runs.lua', keys: 1 },
  schedkitCancelRun: { file: 'cancel-run.lua', keys: 2 },
  schedkitRescheduleRun: { file: 'reschedule-run.lua', keys: 2 },
} as const satisfies Record<string, ScriptDefinition>;

export type ScriptCommand = keyof typeof SCRIPTS;

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([a-z-]+)"$/m;

let sources: Map<ScriptCommand, string> | undefined;

/** The source of every script, includes resolved (read once, then cached). */
export function scriptSources(): ReadonlyMap<ScriptCommand, string> {
  if (sources !== undefined) return sources;
  const loaded = new Map<ScriptCommand, string>();
  for (const [command, definition] of Object.entries(SCRIPTS) as [ScriptCommand, ScriptDefinition][]) {
    loaded.set(command, resolveIncludes(readLua(definition.file)));
  }
  sources = loaded;
  return loaded;
}

function readLua(file: string): string {
  return readFileSync(new URL(file, LUA_DIR), 'utf8');
}

function resolveIncludes(source: string): string {
  let text = source;
  for (let match = INCLUDE.exec(text); match !== null; match = INCLUDE.exec(text)) {
    const included = readLua(`includes/${match[1]!}.lua`);
    text = text.replace(match[0], () => included);
  }
  return text;
}

/**
 * Registers every script on `client`. Idempotent; always (re)defines, so a
 * client shared with another copy of schedkit runs this copy's scripts.
 */
export function registerScripts(client: Redis | Cluster): void {
  for (const [command, source] of scriptSources()) {
    client.defineCommand(command, { lua: source, numberOfKeys: SCRIPTS[command].keys });
  }
}

// ---- reply decoding ---------------------------------------------------------
// Lua replies are arrays of text; a Lua `false` arrives as null (RESP2) or
// false (RESP3). Nothing parsed here can reach a prototype: hashes become
// Maps, and JSON is parsed with a reviver that drops `__proto__` keys.

/** Text, or null for a Lua nil/false. */
export function optText(value: unknown): string | null {
  if (value === null || value === undefined || value === false) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}

export function text(value: unknown, script: string): string {
  const out = optText(value);
  if (out === null) throw unexpectedReply(script, `expected text, got ${typeof value}`);
  return out;
}

export function num(value: unknown, script: string): number {
  const out = Number(text(value, script));
  if (!Number.isFinite(out)) throw unexpectedReply(script, `expected a number, got ${String(value)}`);
  return out;
}

export function optNum(value: unknown, script: string): number | null {
  return optText(value) === null ? null : num(value, script);
}

export function array(value: unknown, script: string): unknown[] {
  if (!Array.isArray(value)) throw unexpectedReply(script, `expected an array, got ${typeof value}`);
  return value;
}

/**
 * `JSON.parse` that drops `__proto__` keys: what is read back from Redis may
 * have been written by anyone with access to it, and must never set a prototype.
 */
export function parseStoredJson(json: string): unknown {
  return JSON.parse(json, (key: string, value: unknown) => (key === '__proto__' ? undefined : value));
}

/** A flat HGETALL reply as a Map (never an object: field names cannot shadow anything). */
export function hashOf(reply: unknown, script: string): Map<string, string> {
  const flat = array(reply, script);
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(text(flat[i], script), text(flat[i + 1], script));
  return out;
}

/** A job's state hash as a `StoredJob`, or null when the hash is empty (not stored). */
export function decodeJob(key: string, reply: unknown, script: string): StoredJob | null {
  const h = hashOf(reply, script);
  if (!h.has('hash')) return null;
  const need = (field: string): number => num(h.get(field) ?? '0', script);
  const maybe = (field: string): number | null => optNum(h.get(field), script);
  const tenant = h.get('tenant');
  return {
    key,
    name: h.get('name') ?? key.slice(key.indexOf('/') + 1),
    tenantId: tenant,
    schedule: decodeSchedule(h.get('schedule'), script),
    definitionHash: h.get('hash')!,
    definedAt: need('definedAt'),
    limit: maybe('limit'),
    paused: h.get('paused') === '1',
    completed: h.get('completed') === '1',
    lastSlot: maybe('lastSlot'),
    slotCount: need('slotCount'),
    fence: need('fence'),
    nextRunAt: maybe('nextRunAt'),
    lastRunAt: maybe('lastRunAt'),
    lastDurationMs: maybe('lastDurationMs'),
    lastError: h.get('lastError') ?? null,
    lastOutcome: (h.get('lastOutcome') as RunOutcome | undefined) ?? null,
    runCount: need('runCount'),
    failCount: need('failCount'),
    skippedCount: need('skippedCount'),
    activeRuns: need('active'),
    rateLimit: h.has('rateKey') ? { key: h.get('rateKey')!, max: need('rateMax'), perMs: need('ratePer') } : null,
    createdAt: need('createdAt'),
    lastSeenAt: need('lastSeenAt'),
  };
}

function decodeSchedule(json: string | undefined, script: string): ScheduleDescriptor | null {
  if (json === undefined) return null;
  let parsed: unknown;
  try {
    parsed = parseStoredJson(json);
  } catch (error) {
    throw unexpectedReply(script, `stored schedule is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null) return null;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw unexpectedReply(script, 'stored schedule is not an object');
  return parsed as ScheduleDescriptor;
}

/** `{ id, kind, state, scheduledAt, dueAt, attempt, outcome }` from 7 reply values starting at `at`. */
export function decodeSummary(key: string, values: readonly unknown[], at: number, script: string): RunSummary {
  return {
    id: text(values[at], script),
    key,
    kind: text(values[at + 1], script) as RunSummary['kind'],
    state: text(values[at + 2], script) as RunSummary['state'],
    scheduledAt: num(values[at + 3], script),
    dueAt: num(values[at + 4], script),
    attempt: num(values[at + 5], script),
    outcome: optText(values[at + 6]) as RunOutcome | null,
  };
}

/** A claimed run from 10 reply values starting at `at`: runId, id, key, kind, scheduledAt, attempt, params, exclusive, fence, claimedAt. */
export function decodeClaimed(values: readonly unknown[], at: number, script: string): ClaimedRun {
  return {
    runId: text(values[at], script),
    id: text(values[at + 1], script),
    key: text(values[at + 2], script),
    kind: text(values[at + 3], script) as ClaimedRun['kind'],
    scheduledAt: num(values[at + 4], script),
    attempt: num(values[at + 5], script),
    params: optText(values[at + 6]) ?? undefined,
    exclusive: text(values[at + 7], script) === '1',
    fencingToken: num(values[at + 8], script),
    claimedAt: num(values[at + 9], script),
  };
}

/** One history entry (JSON written by `push_history` in common.lua), rebuilt field by field. */
export function decodeHistoryEntry(json: unknown, script: string): HistoryEntry {
  let parsed: unknown;
  try {
    parsed = parseStoredJson(text(json, script));
  } catch (error) {
    throw unexpectedReply(script, `history entry is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw unexpectedReply(script, 'history entry is not an object');
  const e = parsed as Record<string, unknown>;
  const str = (field: string): string => {
    const value = e[field];
    if (typeof value !== 'string') throw unexpectedReply(script, `history entry field ${field} is not text`);
    return value;
  };
  const number = (field: string): number => {
    const value = e[field];
    if (typeof value !== 'number') throw unexpectedReply(script, `history entry field ${field} is not a number`);
    return value;
  };
  const nullable = <T>(field: string, read: (f: string) => T): T | null => (e[field] === null ? null : read(field));
  return {
    runId: str('runId'),
    id: str('id'),
    kind: str('kind') as HistoryEntry['kind'],
    scheduledAt: number('scheduledAt'),
    startedAt: nullable('startedAt', number),
    finishedAt: nullable('finishedAt', number),
    outcome: str('outcome') as RunOutcome,
    // Entries written before reasons were recorded have none.
    reason: e['reason'] === undefined ? null : nullable('reason', str),
    error: nullable('error', str),
    instanceId: str('instanceId'),
    attempt: number('attempt'),
  };
}
