import { NAME_CHARSET, NAME_PATTERN } from '../../job/job-key.js';

/**
 * The Redis key layout of one schedkit namespace.
 *
 * Every key starts with `{<prefix>}:`, so the whole namespace shares one hash
 * tag: on Redis Cluster it lives in one slot, and every Lua script (which
 * touches several keys) runs on one node. The Lua side builds the same names
 * in `lua/includes/common.lua`; the two must stay in sync.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{p}:job:<key>` | HASH | a job's state and counters (`activeExclusive`, `buffered`, ... so claims are O(1)) |
 * | `{p}:jobs` | ZSET | every job key, score 0 (lexicographic order for `listJobs`) |
 * | `{p}:tenant-jobs:<tenant>` | ZSET | the job keys of one tenant (`''` = no tenant) |
 * | `{p}:seen` | ZSET | job key → lastSeenAt (a lower bound; the orphan sweep checks the hash) |
 * | `{p}:removed` | ZSET | job key → removal time (tombstones) |
 * | `{p}:run:<key>#<id>` | HASH | one run (slot or one-off): state, attempt, lease, fencing token |
 * | `{p}:runs:<key>` | ZSET | the run ids of a job (pending, active, or done and not yet swept), score 0 (lexicographic order for `listRuns`) |
 * | `{p}:trigger-ids:<tenant>` | HASH | one-off run id → job key among the jobs of a tenant (`''` = no tenant), so `getRun` finds a one-off run by id |
 * | `{p}:rate:<rate key>` | ZSET | a rate limit's window: runId of each attempt started under it → start time (expires after a window idle) |
 * | `{p}:history:<key>` | LIST | history entries as JSON, newest first, capped at the history limit (trimmed in steps: up to an eighth more are stored, never read) |
 * | `{p}:pending` | ZSET | the due index: `<seq:16 digits><key>#<id>` → dueAt of pending runs a poll may claim (ties in the order runs became pending) |
 * | `{p}:parked:<key>` | ZSET | pending runs of a paused job, members and scores as in `pending`, moved back on resume |
 * | `{p}:waiting:<key>` | ZSET | pending exclusive runs held back (an exclusive run of the job is active, or the job is paused); the earliest goes back to `pending` when it may run |
 * | `{p}:active` | ZSET | `<key>#<id>` → leaseUntil (the reaper reads expired leases only) |
 * | `{p}:done` | ZSET | `<key>#<id>` → finishedAt of finished runs kept until the retention sweep (one-off runs, cancelled runs) |
 * | `{p}:seq` | STRING | counter ordering pending runs |
 * | `{p}:instances` | ZSET | instance id → alive until (`heartbeatInstance`) |
 * | `{p}:heard` | HASH | `at`, `ttl` of the last instance heartbeat, `reapAfter` (no reaping after an outage until then) |
 * | `{p}:filter:<id>` | SET | the job keys one caller of `claimDueRuns` has registered (expires when abandoned; a large copy is sent in chunks) |
 * | `{p}:runs-changed` | channel | pub/sub: pending runs may have become claimable |
 * | `{p}:run-cancelled` | channel | pub/sub: `<key>#<id>` of a running run `cancelRun` asked to abort |
 */

/** @default 'schedkit' */
export const DEFAULT_PREFIX = 'schedkit';

/**
 * A job key as `jobKey()` builds it (`tenant/name`, each part from the name
 * charset). Keys outside this charset are never stored: they could not come
 * from a validated job, and `#` separates a key from a run id in key names.
 */
export const JOB_KEY_PATTERN = new RegExp(`^[/${NAME_CHARSET}]{1,401}$`);

/** A run id stored in key names: the name charset (uuids and trigger ids fit). */
export const RUN_ID_PATTERN = NAME_PATTERN;

export function isValidJobKey(key: unknown): key is string {
  return typeof key === 'string' && JOB_KEY_PATTERN.test(key);
}

export function isValidRunId(id: unknown): id is string {
  return typeof id === 'string' && RUN_ID_PATTERN.test(id);
}

/** Names of every key of one namespace. */
export class RedisKeys {
  /** `{<prefix>}:`, passed to every script as ARGV[1]. */
  readonly ns: string;
  readonly jobs: string;
  readonly seen: string;
  readonly removed: string;
  readonly pending: string;
  readonly active: string;
  readonly done: string;
  readonly seq: string;
  readonly instances: string;
  readonly heard: string;
  /** The pub/sub channel of `onRunsChanged`. */
  readonly channel: string;
  /** The pub/sub channel of `onRunCancelled`. */
  readonly cancelChannel: string;

  constructor(readonly prefix: string) {
    this.ns = `{${prefix}}:`;
    this.jobs = `${this.ns}jobs`;
    this.seen = `${this.ns}seen`;
    this.removed = `${this.ns}removed`;
    this.pending = `${this.ns}pending`;
    this.active = `${this.ns}active`;
    this.done = `${this.ns}done`;
    this.seq = `${this.ns}seq`;
    this.instances = `${this.ns}instances`;
    this.heard = `${this.ns}heard`;
    this.channel = `${this.ns}runs-changed`;
    this.cancelChannel = `${this.ns}run-cancelled`;
  }

  job(key: string): string {
    return `${this.ns}job:${key}`;
  }

  runs(key: string): string {
    return `${this.ns}runs:${key}`;
  }

  history(key: string): string {
    return `${this.ns}history:${key}`;
  }

  run(key: string, id: string): string {
    return `${this.ns}run:${key}#${id}`;
  }

  triggerIds(tenant: string): string {
    return `${this.ns}trigger-ids:${tenant}`;
  }

  rate(name: string): string {
    return `${this.ns}rate:${name}`;
  }

  tenantJobs(tenant: string): string {
    return `${this.ns}tenant-jobs:${tenant}`;
  }

  filter(id: string): string {
    return `${this.ns}filter:${id}`;
  }

  parked(key: string): string {
    return `${this.ns}parked:${key}`;
  }

  waiting(key: string): string {
    return `${this.ns}waiting:${key}`;
  }

  /** The hash tag Redis Cluster hashes for `name`: the text between the first `{` and the next `}` (if not empty). */
  static hashTag(name: string): string {
    const open = name.indexOf('{');
    if (open < 0) return name;
    const close = name.indexOf('}', open + 1);
    if (close <= open + 1) return name;
    return name.slice(open + 1, close);
  }
}
