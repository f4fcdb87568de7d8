import type { RedisClient } from '../../redis/connection.js';
import type {
  ActiveRunRef,
  Backend,
  CancelledRunRef,
  DueRunsClaim,
  DueRunsClaimed,
  HeartbeatReply,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunCancel,
  RunCancelResult,
  RunEnqueue,
  RunFinish,
  RunLookup,
  RunPage,
  RunQuery,
  RunReschedule,
  RunRescheduleResult,
  RunSummary,
  StoredRun,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  SweepResult,
} from '../backend.js';
import { RedisBackendConnection } from './backend-connection.js';
import { FilterMirrors } from './filter-mirror.js';
import { RedisKeys, isValidJobKey } from './keys.js';
import { resolveRedisBackendOptions, type RedisBackendOptions } from './redis-backend-options.js';
import { finishRuns, heartbeat, reapStalledRuns, releaseClaims, RUN_BATCH } from './active-runs.js';
import { cancelRun, enqueueRun, getRun, listRuns, rescheduleRun } from './run-management.js';
import { encodeJobUpsert, encodeSlotClaim, numArg, stalledTextParts } from './script-args.js';
import { unexpectedReply } from './script-errors.js';
import { decodeDueRuns, decodeSlotClaim } from './script-replies.js';
import { array, decodeHistoryEntry, decodeJob, num, optNum, text, type ScriptArg } from './scripts.js';

export type { RedisBackendOptions } from './redis-backend-options.js';
export { FILTER_CHUNK } from './filter-mirror.js';

/** Jobs per upsert/touch script call: each call is atomic, a batch of many is split so Redis never blocks long. */
const JOB_BATCH = 250;
/** Jobs per `listJobs` page (one script call each). */
const LIST_PAGE = 500;
/** Most runs, and most jobs, one sweep call deletes before it is called again. */
const SWEEP_BATCH = 2_000;

/**
 * The `Backend` on Redis (standalone, Sentinel or Cluster): every operation
 * is one Lua script (`./lua/*.lua`), atomic and timed by Redis `TIME`, so
 * instances with skewed clocks neither run a slot twice nor early.
 *
 * A short run costs two commands (`claim-slots`, `finish-runs`); a poll for
 * due runs costs one (`claim-due-runs` also answers the next due time).
 * `onRunsChanged` is Redis pub/sub on `{<prefix>}:runs-changed`, published
 * only when pending runs may have become claimable.
 *
 * @example
 * const backend = new RedisBackend({ connection: { url: 'redis://127.0.0.1:6379' }, prefix: 'billing' });
 * await backend.connect();
 * // ... new Scheduler({ backend, ... })
 * await backend.close();
 */
export class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly prefix: string;

  private readonly keys: RedisKeys;
  private readonly historyLimit: number;
  private readonly connection: RedisBackendConnection;
  private readonly mirrors: FilterMirrors;
  private readonly stalledText = stalledTextParts();

  constructor(options: RedisBackendOptions) {
    const resolved = resolveRedisBackendOptions(options);
    this.prefix = resolved.prefix;
    this.keys = new RedisKeys(resolved.prefix);
    this.historyLimit = resolved.historyLimit;
    this.mirrors = new FilterMirrors(this.keys);
    this.connection = new RedisBackendConnection(this.keys.channel, this.keys.cancelChannel, resolved.connection, resolved.client, resolved.connectedBy);
  }

  /**
   * Connects the command client and the pub/sub client and registers the
   * scripts. Idempotent (a concurrent call shares the attempt); after a
   * failure it may be called again. Rejects with `E_BACKEND_UNAVAILABLE`.
   */
  async connect(): Promise<void> {
    return this.connection.connect();
  }

  /** Quits the connections this backend opened (never a client passed in). Idempotent; never rejects. */
  async close(): Promise<void> {
    return this.connection.close();
  }

  /** Runs one backend call: not connected or Redis unreachable → `E_BACKEND_UNAVAILABLE`. */
  private async exec<T>(call: string, body: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.connection.exec(call, body);
  }

  // ---- Backend ---------------------------------------------------------------

  async time(): Promise<number> {
    return this.exec('time', async (client) => num(await client.schedkitTime(this.keys.pending, this.keys.ns), 'time'));
  }

  async heartbeatInstance(instanceId: string, ttlMs: number): Promise<string[]> {
    return this.exec('heartbeatInstance', async (client) => {
      const reply = await client.schedkitHeartbeatInstance(
        this.keys.instances,
        this.keys.heard,
        this.keys.ns,
        String(instanceId),
        numArg('heartbeatInstance', 'ttlMs', ttlMs),
      );
      return array(reply, 'heartbeat-instance')
        .map((id) => text(id, 'heartbeat-instance'))
        .sort();
    });
  }

  async removeInstance(instanceId: string): Promise<void> {
    return this.exec('removeInstance', async (client) => {
      await client.zrem(this.keys.instances, String(instanceId));
    });
  }

  async upsertJobs(jobs: readonly JobUpsert[]): Promise<JobUpsertResult[]> {
    return this.exec('upsertJobs', async (client) => {
      const encoded = jobs.map(encodeJobUpsert);
      const results: JobUpsertResult[] = [];
      for (let i = 0; i < encoded.length; i += JOB_BATCH) {
        const batch = encoded.slice(i, i + JOB_BATCH);
        const reply = array(
          await client.schedkitUpsertJobs(this.keys.jobs, this.keys.seen, this.keys.removed, this.keys.ns, ...batch.flat()),
          'upsert-jobs',
        );
        batch.forEach((job, j) => {
          const entry = array(reply[j], 'upsert-jobs');
          const key = job[0]!;
          const stored = decodeJob(key, entry[2], 'upsert-jobs');
          if (stored === null) throw unexpectedReply('upsert-jobs', `no state for ${key}`);
          results.push({ key, stored, created: entry[0] === '1', definitionChanged: entry[1] === '1', definedAt: Number(entry[3]) });
        });
      }
      return results;
    });
  }

  async touchJobs(keys: readonly string[]): Promise<void> {
    return this.exec('touchJobs', async (client) => {
      // A key outside the charset was never stored: nothing to touch.
      const valid = keys.filter(isValidJobKey);
      for (let i = 0; i < valid.length; i += JOB_BATCH) {
        await client.schedkitTouchJobs(this.keys.seen, this.keys.ns, ...valid.slice(i, i + JOB_BATCH));
      }
    });
  }

  async getJob(key: string): Promise<StoredJob | null> {
    return this.exec('getJob', async (client) => {
      if (!isValidJobKey(key)) return null;
      return decodeJob(key, await client.schedkitGetJob(this.keys.job(key), this.keys.ns, key), 'get-job');
    });
  }

  async listJobs(filter: { tenantId?: string } = {}): Promise<StoredJob[]> {
    return this.exec('listJobs', async (client) => {
      const index = filter.tenantId === undefined ? this.keys.jobs : this.keys.tenantJobs(String(filter.tenantId));
      const out: StoredJob[] = [];
      let start = '-';
      for (;;) {
        const page = array(await client.schedkitListJobs(index, this.keys.ns, start, LIST_PAGE), 'list-jobs');
        for (let i = 0; i + 1 < page.length; i += 2) {
          const key = text(page[i], 'list-jobs');
          const job = decodeJob(key, page[i + 1], 'list-jobs');
          if (job !== null) out.push(job);
          start = `(${key}`;
        }
        if (page.length < LIST_PAGE * 2) return out;
      }
    });
  }

  async setPaused(key: string, paused: boolean): Promise<boolean> {
    return this.exec('setPaused', async (client) => {
      if (!isValidJobKey(key)) return false;
      // A resume gives parked runs back a chunk per call (set-paused.lua).
      let reply = await client.schedkitSetPaused(this.keys.job(key), this.keys.ns, key, paused ? '1' : '0', RUN_BATCH);
      while (reply === 2) reply = await client.schedkitSetPaused(this.keys.job(key), this.keys.ns, key, 'more', RUN_BATCH);
      return reply === 1 || reply === 2;
    });
  }

  async removeJob(key: string): Promise<boolean> {
    return this.exec('removeJob', async (client) => {
      if (!isValidJobKey(key)) return false;
      // A job's runs are deleted a chunk per call (remove-job.lua).
      let existed = false;
      for (;;) {
        const reply = await client.schedkitRemoveJob(this.keys.job(key), this.keys.removed, this.keys.ns, key, RUN_BATCH);
        if (reply !== -1) return existed || reply === 1;
        existed = true;
      }
    });
  }

  async claimSlot(claim: SlotClaim): Promise<SlotClaimResult> {
    return (await this.claimSlots([claim]))[0]!;
  }

  async claimSlots(claims: readonly SlotClaim[]): Promise<SlotClaimResult[]> {
    return this.exec('claimSlots', async (client) => {
      const script = 'claim-slots';
      // A key that cannot be stored cannot have state: answered here, not sent.
      const sent = claims.filter((claim) => isValidJobKey(claim.key));
      const args: ScriptArg[] = [this.keys.pending, this.keys.active, this.keys.ns, this.historyLimit];
      for (const claim of sent) {
        args.push(...encodeSlotClaim(claim));
      }
      const replies = sent.length === 0 ? [] : array(await client.schedkitClaimSlots(...args), script);
      if (replies.length !== sent.length) throw unexpectedReply(script, `${replies.length} replies for ${sent.length} claims`);
      let next = 0;
      return claims.map((claim): SlotClaimResult =>
        isValidJobKey(claim.key) ? decodeSlotClaim(claim, array(replies[next++], script), script) : { status: 'removed' },
      );
    });
  }

  async enqueueRun(run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }> {
    return this.exec('enqueueRun', (client) => enqueueRun(client, this.keys, run));
  }

  async getRun(lookup: RunLookup): Promise<StoredRun | null> {
    return this.exec('getRun', (client) => getRun(client, this.keys, lookup));
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    return this.exec('listRuns', (client) => listRuns(client, this.keys, query));
  }

  async cancelRun(cancel: RunCancel): Promise<RunCancelResult> {
    return this.exec('cancelRun', (client) => cancelRun(client, this.keys, this.historyLimit, cancel));
  }

  async rescheduleRun(reschedule: RunReschedule): Promise<RunRescheduleResult> {
    return this.exec('rescheduleRun', (client) => rescheduleRun(client, this.keys, this.historyLimit, reschedule));
  }

  async claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed> {
    return this.exec('claimDueRuns', async (client) => {
      const leaseMs = numArg('claimDueRuns', 'leaseMs', request.leaseMs);
      const runIds = request.runIds.map(String);
      const instanceId = String(request.instanceId);
      const keys = request.keys;
      const claim = (filterKey: string, mode: string, sync: string, cursor: string, adds: readonly string[], removes: readonly string[]) =>
        client.schedkitClaimDueRuns(
          this.keys.pending,
          this.keys.active,
          filterKey,
          this.keys.ns,
          instanceId,
          leaseMs,
          mode,
          sync,
          adds.length,
          removes.length,
          cursor,
          ...adds,
          ...removes,
          ...runIds,
        ) as Promise<unknown>;

      if (keys === undefined || runIds.length === 0) return decodeDueRuns(await claim(this.keys.pending, 'all', '', '', [], [])).claimed;

      return this.mirrors.claim(client, keys, claim);
    });
  }

  async nextDueAt(): Promise<number | null> {
    return this.exec('nextDueAt', async (client) =>
      optNum(await client.schedkitNextDue(this.keys.pending, this.keys.ns), 'next-due'),
    );
  }

  async heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]> {
    return this.exec('heartbeat', (client) => heartbeat(client, this.keys, runs, leaseMs));
  }

  async finishRun(finish: RunFinish): Promise<{ recorded: boolean }> {
    const [recorded] = await this.finishRuns([finish]);
    return { recorded: recorded! };
  }

  async finishRuns(finishes: readonly RunFinish[]): Promise<boolean[]> {
    return this.exec('finishRuns', (client) => finishRuns(client, this.keys, this.historyLimit, finishes));
  }

  async releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return this.exec('releaseClaims', (client) => releaseClaims(client, this.keys, instanceId, runIds));
  }

  async reapStalledRuns(): Promise<StalledRun[]> {
    return this.exec('reapStalledRuns', (client) => reapStalledRuns(client, this.keys, this.historyLimit, this.stalledText));
  }

  async history(key: string, limit: number): Promise<HistoryEntry[]> {
    return this.exec('history', async (client) => {
      if (!isValidJobKey(key) || !(limit > 0)) return [];
      // The list may hold a few entries past the limit (push_history trims in steps).
      const stop = Math.min(Number.isFinite(limit) ? Math.floor(limit) : Infinity, this.historyLimit) - 1;
      if (stop < 0) return [];
      const entries = await client.lrange(this.keys.history(key), 0, stop);
      return entries.map((entry) => decodeHistoryEntry(entry, 'history'));
    });
  }

  async sweep(options: { retentionMs: number; orphanTimeoutMs: number }): Promise<SweepResult> {
    return this.exec('sweep', async (client) => {
      const retention = numArg('sweep', 'retentionMs', options.retentionMs);
      const orphan = numArg('sweep', 'orphanTimeoutMs', options.orphanTimeoutMs);
      const total: SweepResult = { runsDeleted: 0, jobsDeleted: 0 };
      // Each call deletes a bounded amount, so Redis is never blocked long.
      for (;;) {
        const reply = array(
          await client.schedkitSweep(this.keys.done, this.keys.seen, this.keys.removed, this.keys.ns, retention, orphan, SWEEP_BATCH),
          'sweep',
        );
        total.runsDeleted += num(reply[0], 'sweep');
        total.jobsDeleted += num(reply[1], 'sweep');
        if (reply[2] !== '1') return total;
      }
    });
  }

  onRunsChanged(listener: () => void): () => void {
    return this.connection.onRunsChanged(listener);
  }

  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void {
    return this.connection.onRunCancelled(listener);
  }
}
