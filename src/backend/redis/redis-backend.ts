import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { BackendUnavailableError, ConfigError, ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages, show } from '../../errors/messages.js';
import {
  closeClient,
  connectClient,
  createClient,
  toBackendError,
  type RedisClient,
  type RedisConnection,
} from '../../redis/connection.js';
import type {
  ActiveRunRef,
  Backend,
  ClaimedRun,
  DueRunsClaim,
  DueRunsClaimed,
  HistoryEntry,
  JobUpsert,
  JobUpsertResult,
  RunEnqueue,
  RunFinish,
  RunSummary,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  SweepResult,
} from '../backend.js';
import type { KeyFilter } from '../key-filter.js';
import { DEFAULT_PREFIX, PREFIX_PATTERN, RedisKeys, isValidJobKey, isValidRunId } from './keys.js';
import { ScriptCode, isScriptCode, scriptError, unexpectedReply } from './script-errors.js';
import {
  array,
  decodeClaimed,
  decodeHistoryEntry,
  decodeJob,
  decodeSummary,
  num,
  optNum,
  optText,
  registerScripts,
  text,
  type ScriptArg,
} from './scripts.js';

/** Options of `RedisBackend`: exactly one of `connection` and `client`. */
export interface RedisBackendOptions {
  /** How to reach Redis; the backend opens (and closes) its own connections with fail-fast options. */
  connection?: RedisConnection;
  /**
   * Bring your own client (standalone or Cluster). The backend registers its
   * scripts on it, opens a duplicate for pub/sub, and never closes it. Its
   * options decide how fast calls fail while Redis is down; ioredis
   * `keyPrefix` is not supported (use `prefix`).
   */
  client?: Redis | Cluster;
  /** Namespace of every key: `[A-Za-z0-9_.:-]{1,100}`. @default 'schedkit' */
  prefix?: string;
  /** History entries kept per job (oldest dropped first). @default 100 */
  historyLimit?: number;
}

/** Jobs per upsert/touch script call: each call is atomic, a batch of many is split so Redis never blocks long. */
const JOB_BATCH = 250;
/** Jobs per `listJobs` page (one script call each). */
const LIST_PAGE = 500;
/** Most runs, and most jobs, one sweep call deletes before it is called again. */
const SWEEP_BATCH = 2_000;
/**
 * Most job keys one script call carries to the copy of a `claimDueRuns`
 * filter: a larger change (the first copy, or a full copy after Redis lost
 * it) goes in chunks of this many ahead of the claim.
 */
export const FILTER_CHUNK = 5_000;
/** Filter changes small enough to ride along in the claim call itself. */
const FILTER_INLINE = 500;
/** Most runs one removeJob call deletes, one reap call reaps, one resume call gives back. */
const RUN_BATCH = 1_000;
/** Active runs one releaseClaims call reads. */
const RELEASE_SCAN = 2_000;

type State = 'idle' | 'connecting' | 'connected' | 'closed';

/** A `claimDueRuns` key filter mirrored in Redis as a SET, kept in sync by its change log. */
interface KeyFilterState {
  readonly redisKey: string;
  /** The filter version the Redis copy holds; null until a full copy was sent (and after any doubt). */
  synced: number | null;
  /** Where the next claim starts reading the due index ('' = the front): see claim-due-runs.lua. */
  cursor: string;
}

/**
 * The `Backend` on Redis (standalone, Sentinel or Cluster): every operation
 * is one Lua script (`./lua/*.lua`), atomic and timed by Redis `TIME`, so
 * instances with skewed clocks neither run a slot twice nor early.
 *
 * A short run costs two commands (`claim-slot`, `finish-run`); a poll for
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
  private readonly connection: RedisConnection | undefined;
  private readonly provided: RedisClient | undefined;
  private client: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private state: State = 'idle';
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly filters = new WeakMap<object, KeyFilterState>();
  private readonly stalledText = stalledTextParts();

  constructor(options: RedisBackendOptions) {
    const problems: string[] = [];
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError([`expected an object, got ${show(options)}`], 'RedisBackendOptions');
    }
    const { connection, client } = options;
    if ((connection === undefined) === (client === undefined)) {
      problems.push('exactly one of connection and client must be given');
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
      problems.push(messages.redisBackendOption('prefix', 'must be 1-100 characters from [A-Za-z0-9_.:-]', prefix));
    }
    const historyLimit = options.historyLimit ?? 100;
    if (!Number.isInteger(historyLimit) || historyLimit < 1 || historyLimit > 1_000_000) {
      problems.push(messages.redisBackendOption('historyLimit', 'must be an integer from 1 to 1000000', historyLimit));
    }
    if (keyPrefixOf(connection, client) !== undefined) {
      problems.push(
        messages.redisBackendOption('keyPrefix', 'is not supported (keys must keep the namespace hash tag): use prefix', keyPrefixOf(connection, client)),
      );
    }
    if (problems.length > 0) throw new ConfigError(problems, 'RedisBackendOptions');
    this.prefix = prefix;
    this.keys = new RedisKeys(prefix);
    this.historyLimit = historyLimit;
    this.connection = connection;
    this.provided = client;
  }

  // ---- lifecycle -----------------------------------------------------------

  /**
   * Connects the command client and the pub/sub client and registers the
   * scripts. Idempotent (a concurrent call shares the attempt); after a
   * failure it may be called again. Rejects with `E_BACKEND_UNAVAILABLE`.
   */
  async connect(): Promise<void> {
    if (this.state === 'connected') return;
    if (this.state === 'closed') throw new BackendUnavailableError(messages.backendClosed('connect'));
    this.connecting ??= this.open().catch(async (error: unknown) => {
      await this.release();
      this.connecting = undefined;
      if (this.state === 'connecting') this.state = 'idle';
      throw toBackendError(error, 'RedisBackend.connect');
    });
    return this.connecting;
  }

  /** Quits the connections this backend opened (never a client passed in). Idempotent; never rejects. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      const pending = this.connecting;
      this.state = 'closed';
      this.listeners.clear();
      if (pending !== undefined) await pending.catch(() => undefined);
      await this.release();
    })();
    return this.closing;
  }

  private async open(): Promise<void> {
    this.state = 'connecting';
    const client = this.provided ?? createClient(this.connection!, 'backend');
    this.client = client;
    registerScripts(client);
    await connectClient(client, 'RedisBackend');
    const subscriber = this.connection !== undefined ? createClient(this.connection, 'backend-events') : duplicate(client);
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string) => {
      if (channel === this.keys.channel) this.notify();
    });
    await connectClient(subscriber, 'RedisBackend events');
    await subscriber.subscribe(this.keys.channel);
    // Messages published while the subscriber was reconnecting are lost:
    // wake the listeners once it is back (best effort, they poll anyway).
    subscriber.on('ready', () => {
      if (this.state === 'connected') this.notify();
    });
    if (this.state !== 'connecting') throw new BackendUnavailableError(messages.backendClosed('connect'));
    this.state = 'connected';
  }

  private async release(): Promise<void> {
    const { client, subscriber } = this;
    this.client = undefined;
    this.subscriber = undefined;
    await Promise.all([
      subscriber === undefined ? undefined : closeClient(subscriber),
      client === undefined || client === this.provided ? undefined : closeClient(client),
    ]);
  }

  /** The command client, or `E_BACKEND_UNAVAILABLE` before `connect` / after `close`. */
  private ready(call: string): RedisClient {
    if (this.state === 'connected' && this.client !== undefined) return this.client;
    throw new BackendUnavailableError(
      this.state === 'closed' ? messages.backendClosed(call) : messages.backendNotConnected(call),
    );
  }

  /** Runs one backend call: not connected or Redis unreachable → `E_BACKEND_UNAVAILABLE`. */
  private async exec<T>(call: string, body: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.ready(call);
    try {
      return await body(client);
    } catch (error) {
      throw toBackendError(error, `RedisBackend.${call}`);
    }
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
      const encoded = jobs.map((job) => {
        assertJobKey('upsertJobs', job.key);
        return [
          job.key,
          String(job.name),
          job.tenantId === undefined ? '0' : '1',
          job.tenantId ?? '',
          JSON.stringify(job.schedule ?? null),
          String(job.definitionHash),
          nullableArg('upsertJobs', 'definedAt', job.definedAt),
          nullableArg('upsertJobs', 'nextRunAt', job.nextRunAt),
          nullableArg('upsertJobs', 'limit', job.limit),
        ];
      });
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
      return decodeJob(key, await client.schedkitGetJob(this.keys.job(key), this.keys.ns), 'get-job');
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
        assertRunId('claimSlot', claim.runId);
        args.push(
          claim.key,
          numArg('claimSlot', 'slot', claim.slot),
          claim.runId,
          String(claim.instanceId),
          numArg('claimSlot', 'leaseMs', claim.leaseMs),
          String(claim.definitionHash),
          claim.overlap,
          nullableArg('claimSlot', 'nextRunAt', claim.nextRunAt),
          claim.requeueOnStall ? '1' : '0',
          numArg('claimSlot', 'maxAttempts', claim.maxAttempts),
        );
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
    return this.exec('enqueueRun', async (client) => {
      if (!isValidJobKey(run.key)) throw scriptError(ScriptCode.JobNotFound, { script: 'enqueue-run', key: run.key });
      assertRunId('enqueueRun', run.id);
      const reply: unknown = await client.schedkitEnqueueRun(
        this.keys.job(run.key),
        this.keys.run(run.key, run.id),
        this.keys.pending,
        this.keys.ns,
        run.key,
        run.id,
        nullableArg('enqueueRun', 'dueAt', run.dueAt),
        run.params === undefined ? '0' : '1',
        run.params ?? '',
        numArg('enqueueRun', 'maxAttempts', run.maxAttempts),
      );
      if (isScriptCode(reply)) throw scriptError(reply, { script: 'enqueue-run', key: run.key });
      const values = array(reply, 'enqueue-run');
      return { created: values[0] === '1', run: decodeSummary(run.key, values, 1, 'enqueue-run') };
    });
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
    });
  }

  async nextDueAt(): Promise<number | null> {
    return this.exec('nextDueAt', async (client) =>
      optNum(await client.schedkitNextDue(this.keys.pending, this.keys.ns), 'next-due'),
    );
  }

  async heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<boolean[]> {
    return this.exec('heartbeat', async (client) => {
      const lease = numArg('heartbeat', 'leaseMs', leaseMs);
      const out = runs.map(() => false);
      const args: ScriptArg[] = [];
      const positions: number[] = [];
      runs.forEach((ref, i) => {
        // An unusable reference cannot name an active run.
        if (!isValidJobKey(ref.key) || !isValidRunId(ref.id) || !Number.isFinite(ref.fencingToken)) return;
        positions.push(i);
        args.push(ref.key, ref.id, String(ref.fencingToken));
      });
      if (positions.length === 0) return out;
      const reply = array(await client.schedkitHeartbeat(this.keys.active, this.keys.ns, lease, ...args), 'heartbeat');
      positions.forEach((position, j) => {
        out[position] = Number(reply[j]) === 1;
      });
      return out;
    });
  }

  async finishRun(finish: RunFinish): Promise<{ recorded: boolean }> {
    const [recorded] = await this.finishRuns([finish]);
    return { recorded: recorded! };
  }

  async finishRuns(finishes: readonly RunFinish[]): Promise<boolean[]> {
    return this.exec('finishRuns', async (client) => {
      const script = 'finish-runs';
      // A run that cannot be stored cannot be active: answered here, not sent.
      const sendable = (finish: RunFinish): boolean => isValidJobKey(finish.key) && isValidRunId(finish.id);
      const args: ScriptArg[] = [this.keys.pending, this.keys.active, this.keys.done, this.keys.ns, this.historyLimit];
      let sent = 0;
      for (const finish of finishes) {
        if (!sendable(finish)) continue;
        sent++;
        args.push(
          finish.key,
          finish.id,
          numArg('finishRun', 'fencingToken', finish.fencingToken),
          String(finish.instanceId),
          finish.outcome,
          finish.error === null ? '0' : '1',
          finish.error ?? '',
          numArg('finishRun', 'durationMs', finish.durationMs),
          numArg('finishRun', 'endedMsAgo', finish.endedMsAgo ?? 0),
          finish.retryInMs === undefined ? '' : numArg('finishRun', 'retryInMs', finish.retryInMs),
          finish.requeueInMs === undefined ? '' : numArg('finishRun', 'requeueInMs', finish.requeueInMs),
        );
      }
      const replies = sent === 0 ? [] : array(await client.schedkitFinishRuns(...args), script);
      if (replies.length !== sent) throw unexpectedReply(script, `${replies.length} replies for ${sent} runs`);
      let next = 0;
      return finishes.map((finish) => sendable(finish) && Number(replies[next++]) === 1);
    });
  }

  async releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return this.exec('releaseClaims', async (client) => {
      const script = 'release-claims';
      // The active set is read a chunk per call, in lease order (release-claims.lua).
      let released = 0;
      let cursor = '-inf';
      do {
        const reply = array(
          await client.schedkitReleaseClaims(this.keys.active, this.keys.pending, this.keys.ns, String(instanceId), cursor, RELEASE_SCAN, ...runIds.map(String)),
          script,
        );
        released += num(reply[0], script);
        cursor = optText(reply[1]) ?? '';
      } while (cursor !== '');
      return released;
    });
  }

  async reapStalledRuns(): Promise<StalledRun[]> {
    return this.exec('reapStalledRuns', async (client) => {
      const script = 'reap-stalled';
      const [before, between, after] = this.stalledText;
      const out: StalledRun[] = [];
      // A bounded number of runs per call, until a call reaps fewer.
      for (;;) {
        const reply = array(
          await client.schedkitReapStalled(
            this.keys.active,
            this.keys.pending,
            this.keys.done,
            this.keys.heard,
            this.keys.ns,
            this.historyLimit,
            before,
            between,
            after,
            RUN_BATCH,
          ),
          script,
        );
        for (let i = 1; i + 6 < reply.length; i += 7) {
          out.push({
            key: text(reply[i], script),
            id: text(reply[i + 1], script),
            kind: text(reply[i + 2], script) as StalledRun['kind'],
            scheduledAt: num(reply[i + 3], script),
            attempt: num(reply[i + 4], script),
            instanceId: text(reply[i + 5], script),
            requeued: reply[i + 6] === '1',
          });
        }
        if (reply[0] !== '1') return out;
      }
    });
  }

  async history(key: string, limit: number): Promise<HistoryEntry[]> {
    return this.exec('history', async (client) => {
      if (!isValidJobKey(key) || !(limit > 0)) return [];
      const stop = Number.isFinite(limit) ? Math.min(Math.floor(limit), 2 ** 31) - 1 : -1;
      if (stop < 0 && Number.isFinite(limit)) return [];
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
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private notify(): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        if (!this.listeners.has(listener)) return;
        try {
          listener();
        } catch {
          // Best effort by contract: a listener's failure is its own business.
        }
      });
    }
  }
}

// ---- helpers -----------------------------------------------------------------

/** A second connection like `client` (for pub/sub). */
function duplicate(client: RedisClient): RedisClient {
  return client.isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
}

/** A claim-due-runs reply: the claim, and where the caller's next claim starts reading. */
function decodeDueRuns(reply: unknown): { claimed: DueRunsClaimed; cursor: string } {
  const script = 'claim-due-runs';
  if (isScriptCode(reply)) throw scriptError(reply, { script });
  const values = array(reply, script);
  const runs: ClaimedRun[] = [];
  for (let i = 2; i + 9 < values.length; i += 10) runs.push(decodeClaimed(values, i, script));
  return { claimed: { runs, nextDueAt: optNum(values[0], script) }, cursor: optText(values[1]) ?? '' };
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

function assertJobKey(call: string, key: unknown): asserts key is string {
  if (!isValidJobKey(key)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendKey(call, 'job key', key), {
      details: { field: 'key' },
    });
  }
}

function assertRunId(call: string, id: unknown): asserts id is string {
  if (!isValidRunId(id)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendRunId(call, id), { details: { field: 'id' } });
  }
}

/** A number as script argument text (exact: JS prints the shortest round-trip form). */
function numArg(call: string, field: string, value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendNumber(call, field, value), {
      details: { field },
    });
  }
  return String(value);
}

/** A nullable number: `''` stands for null. */
function nullableArg(call: string, field: string, value: number | null): string {
  return value === null ? '' : numArg(call, field, value);
}

/** ioredis `keyPrefix` in the given options or client (it would break the namespace's hash tag). */
function keyPrefixOf(connection: RedisConnection | undefined, client: RedisClient | undefined): string | undefined {
  const fromClient = (client?.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } | undefined);
  const fromConnection = connection?.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } | undefined;
  const found =
    fromClient?.keyPrefix || fromClient?.redisOptions?.keyPrefix || fromConnection?.keyPrefix || fromConnection?.redisOptions?.keyPrefix;
  return found === '' ? undefined : (found ?? undefined);
}

/**
 * The stall error text split around the instance id and the overdue ms, so
 * reap-stalled.lua writes exactly `messages.runStalled(instanceId, overdueMs)`.
 */
function stalledTextParts(): [string, string, string] {
  const instance = '\u0000instance\u0000';
  const overdue = -123456.789;
  const full = messages.runStalled(instance, overdue);
  const i = full.indexOf(instance);
  const o = full.indexOf(String(overdue), i + instance.length);
  if (i < 0 || o < 0) return ['instance "', '" stopped heartbeating: the lease had expired ', ' ms before it was reaped'];
  return [full.slice(0, i), full.slice(i + instance.length, o), full.slice(o + String(overdue).length)];
}

function decodeSlotClaim(claim: SlotClaim, reply: unknown[], script: string): SlotClaimResult {
  const status = text(reply[0], script);
  switch (status) {
    case 'claimed':
      return { status, run: decodeClaimed([reply[1], reply[2], claim.key, ...reply.slice(3)], 0, script) };
    case 'buffered':
      return { status, run: decodeSummary(claim.key, reply, 1, script) };
    case 'superseded': {
      const stored = decodeJob(claim.key, reply[1], script);
      if (stored === null) throw unexpectedReply(script, 'superseded without state');
      return { status, stored };
    }
    case 'early':
      return { status, retryInMs: num(reply[1], script) };
    case 'taken':
    case 'skipped':
    case 'paused':
    case 'completed':
    case 'removed':
      return { status };
    default:
      throw unexpectedReply(script, `unknown status ${show(status)}`);
  }
}
