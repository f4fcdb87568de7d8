import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/connection.js';
import type { DueRunsClaimed } from '../backend.js';
import type { KeyFilter } from '../key-filter.js';
import type { RedisKeys } from './keys.js';
import { ScriptCode, isScriptCode, scriptError } from './script-errors.js';
import { decodeDueRuns } from './script-replies.js';

/**
 * The Redis copy of a `claimDueRuns` key filter: a SET kept in step with the
 * filter's change log, so a claim sends only what changed since the last
 * one. Separate from the backend because it is bookkeeping about what Redis
 * holds, with its own size limits, not a backend operation.
 */

/**
 * Most job keys one script call carries to the copy of a `claimDueRuns`
 * filter: a larger change (the first copy, or a full copy after Redis lost
 * it) goes in chunks of this many ahead of the claim.
 */
export const FILTER_CHUNK = 5_000;
/** Filter changes small enough to ride along in the claim call itself. */
const FILTER_INLINE = 500;

/** A `claimDueRuns` key filter mirrored in Redis as a SET, kept in sync by its change log. */
interface KeyFilterState {
  readonly redisKey: string;
  /** The filter version the Redis copy holds; null until a full copy was sent (and after any doubt). */
  synced: number | null;
  /** Where the next claim starts reading the due index ('' = the front): see claim-due-runs.lua. */
  cursor: string;
}

/**
 * What to send so the Redis copy of a filter matches it: everything after a
 * doubt (`reset`), otherwise the keys added and removed since the version
 * last sent. Marks the filter as synced as if the call succeeds; a failed
 * call clears that.
 */
function filterDelta(state: KeyFilterState, filter: KeyFilter): { sync: 'reset' | 'delta' | ''; adds: string[]; removes: string[] } {
  const version = filter.version;
  const changes = state.synced === null ? null : filter.changesSince(state.synced);
  state.synced = version;
  if (changes === null) return { sync: 'reset', adds: [...filter.all()], removes: [] };
  const { added, removed } = changes;
  return { sync: added.length > 0 || removed.length > 0 ? 'delta' : '', adds: added, removes: removed };
}

/** One claim-due-runs call: which filter SET to read, how to change it first, where to start reading. */
export type FilterClaimCall = (
  filterKey: string,
  mode: string,
  sync: string,
  cursor: string,
  adds: readonly string[],
  removes: readonly string[],
) => Promise<unknown>;

/** The Redis copies of the key filters one backend has claimed with (one SET per filter object). */
export class FilterMirrors {
  private readonly filters = new WeakMap<object, KeyFilterState>();

  constructor(private readonly keys: RedisKeys) {}

  /**
   * Claims due runs limited to `keys`, bringing its Redis copy up to date in
   * the same call (or in bounded chunks ahead of it); a copy Redis lost is
   * sent again in full once.
   */
  async claim(client: RedisClient, keys: KeyFilter, claim: FilterClaimCall): Promise<DueRunsClaimed> {
    let state = this.filters.get(keys);
    if (state === undefined) {
      state = { redisKey: this.keys.filter(randomUUID()), synced: null, cursor: '' };
      this.filters.set(keys, state);
    }
    for (let attempt = 1; ; attempt++) {
      // The delta and the sends happen in one synchronous stretch, so calls
      // sharing a filter reach Redis in the order their deltas were taken;
      // a large delta goes ahead in bounded chunks on the same connection.
      const delta = filterDelta(state, keys);
      const sends: Promise<unknown>[] = [];
      let reply: unknown;
      try {
        if (delta.adds.length + delta.removes.length <= FILTER_INLINE) {
          sends.push(claim(state.redisKey, 'set', delta.sync, state.cursor, delta.adds, delta.removes));
        } else {
          const sync = (op: 'reset' | 'add' | 'remove', chunk: readonly string[]) =>
            sends.push(client.schedkitSyncFilter(state.redisKey, this.keys.ns, op, ...chunk) as Promise<unknown>);
          if (delta.sync === 'reset') sync('reset', []);
          for (let i = 0; i < delta.adds.length; i += FILTER_CHUNK) sync('add', delta.adds.slice(i, i + FILTER_CHUNK));
          for (let i = 0; i < delta.removes.length; i += FILTER_CHUNK) sync('remove', delta.removes.slice(i, i + FILTER_CHUNK));
          sends.push(claim(state.redisKey, 'set', '', state.cursor, [], []));
        }
        reply = (await Promise.all(sends)).at(-1);
      } catch (error) {
        state.synced = null;
        throw error;
      }
      if (reply === ScriptCode.FilterMissing && attempt === 1) {
        state.synced = null;
        continue;
      }
      if (isScriptCode(reply)) throw scriptError(reply, { script: 'claim-due-runs' });
      const decoded = decodeDueRuns(reply);
      state.cursor = decoded.cursor;
      return decoded.claimed;
    }
  }
}
