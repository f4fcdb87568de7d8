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
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  StoredRun,
  SweepResult,
} from '../backend.js';
import { stalledTextParts } from '../stalled-text.js';
import { finishRuns, heartbeat, reapStalledRuns, releaseClaims } from './active-runs.js';
import { finite, finiteOrNull } from './arguments.js';
import { PostgresBackendConnection } from './backend-connection.js';
import { resolvePostgresBackendOptions, type PostgresBackendOptions } from './postgres-backend-options.js';
import { list, object, toClaimedRun, toHistoryEntry, toSlotClaimResult, toStoredJob, unexpectedAnswer } from './records.js';
import { cancelRun, enqueueRun, getRun, listRuns, rescheduleRun } from './run-management.js';

export type { PostgresBackendOptions } from './postgres-backend-options.js';

/** Jobs per upsert/touch call: each call is one transaction, so a fleet of many jobs is split. */
const JOB_BATCH = 500;

/**
 * The `Backend` on PostgreSQL: every operation that decides something is one
 * plpgsql function (`./sql/*.ts`, created by the migration track `backend`),
 * called with bound parameters in one round trip, and timed by the database
 * clock (`clock_timestamp()`), never the caller's, so instances with skewed
 * clocks neither run a slot twice nor early.
 *
 * A short slot run costs two round trips (`claim_slots`, `finish_runs`,
 * each batched over every slot of one wake and every outcome of one turn);
 * a run longer than `lockRefreshMs` adds one `heartbeat` per refresh, shared
 * by every run in flight on the instance. A poll for due runs costs one
 * (`claim_due_runs` also answers the next due time). `onRunsChanged` and
 * `onRunCancelled` are `LISTEN` on one client kept for it; notices are best
 * effort (the scheduler polls too), so it also works behind a
 * transaction-pooling proxy, with wake-ups at the poll interval.
 *
 * @example
 * const backend = new PostgresBackend({ connectionString: 'postgresql://app@db/app', schema: 'billing_jobs' });
 * await backend.connect(); // applies the migrations unless { migrate: false }
 * // ... new Scheduler({ backend, ... })
 * await backend.close();
 */
export class PostgresBackend implements Backend {
  readonly kind = 'postgres';
  /** The schema of every table and function (checked). */
  readonly schema: string;

  /** The schema quoted, the only text ever interpolated into a statement. */
  private readonly s: string;
  private readonly historyLimit: number;
  private readonly connection: PostgresBackendConnection;
  private readonly stalledText = stalledTextParts();

  constructor(options: PostgresBackendOptions) {
    const resolved = resolvePostgresBackendOptions(options);
    this.schema = resolved.schemaName;
    this.s = resolved.schema;
    this.historyLimit = resolved.historyLimit;
    this.connection = new PostgresBackendConnection(resolved);
  }

  /**
   * Opens the pool (or takes the one given), applies the migrations unless
   * `migrate: false`, and starts listening for notices. Idempotent (a
   * concurrent call shares the attempt); after a failure it may be called
   * again. Rejects with `E_BACKEND_UNAVAILABLE` when PostgreSQL is unreachable.
   */
  async connect(): Promise<void> {
    return this.connection.connect();
  }

  /** Stops listening and ends the pool this backend made (never a pool given). Idempotent; never rejects. */
  async close(): Promise<void> {
    return this.connection.close();
  }

  // ---- Backend ---------------------------------------------------------------

  async time(): Promise<number> {
    return this.connection.exec('time', async (pool) => {
      const { rows } = await pool.query<{ now: number }>(`SELECT ${this.s}.now_ms() AS now`);
      return Number(rows[0]?.now);
    });
  }

  async heartbeatInstance(instanceId: string, ttlMs: number): Promise<string[]> {
    return this.connection.exec('heartbeatInstance', async (pool) => {
      const { rows } = await pool.query<{ alive: string[] }>(`SELECT ${this.s}.heartbeat_instance($1, $2) AS alive`, [
        String(instanceId),
        finite('heartbeatInstance', 'ttlMs', ttlMs),
      ]);
      return [...(rows[0]?.alive ?? [])].sort();
    });
  }

  async removeInstance(instanceId: string): Promise<void> {
    return this.connection.exec('removeInstance', async (pool) => {
      await pool.query(`DELETE FROM ${this.s}.instances WHERE id = $1`, [String(instanceId)]);
    });
  }

  async upsertJobs(jobs: readonly JobUpsert[]): Promise<JobUpsertResult[]> {
    return this.connection.exec('upsertJobs', async (pool) => {
      const results: JobUpsertResult[] = [];
      for (let i = 0; i < jobs.length; i += JOB_BATCH) {
        const batch = jobs.slice(i, i + JOB_BATCH).map(encodeUpsert);
        const { rows } = await pool.query<{ result: unknown }>(`SELECT ${this.s}.upsert_jobs($1::jsonb) AS result`, [JSON.stringify(batch)]);
        const replies = list(rows[0]?.result, 'upsert_jobs');
        if (replies.length !== batch.length) throw unexpectedAnswer('upsert_jobs', `${replies.length} answers for ${batch.length} jobs`);
        for (const reply of replies) {
          const entry = object(reply, 'upsert_jobs');
          results.push({
            key: String(entry.key),
            stored: toStoredJob(entry.stored, 'upsert_jobs'),
            created: entry.created === true,
            definitionChanged: entry.definitionChanged === true,
            definedAt: Number(entry.definedAt),
          });
        }
      }
      return results;
    });
  }

  async touchJobs(keys: readonly string[]): Promise<void> {
    return this.connection.exec('touchJobs', async (pool) => {
      for (let i = 0; i < keys.length; i += JOB_BATCH) {
        // Locked in key order, like every change to jobs (see sql/common.ts).
        await pool.query(
          `WITH locked AS (SELECT ${this.s}.lock_jobs($1::text[]) AS keys)
           UPDATE ${this.s}.jobs SET last_seen_at = ${this.s}.now_ms() FROM locked WHERE key = ANY (locked.keys)`,
          [keys.slice(i, i + JOB_BATCH).map(String)],
        );
      }
    });
  }

  async getJob(key: string): Promise<StoredJob | null> {
    return this.connection.exec('getJob', async (pool) => {
      const { rows } = await pool.query<{ job: unknown }>(`SELECT ${this.s}.job_json(jj) AS job FROM ${this.s}.jobs jj WHERE jj.key = $1`, [String(key)]);
      return rows.length === 0 ? null : toStoredJob(rows[0]!.job, 'getJob');
    });
  }

  async listJobs(filter: { tenantId?: string } = {}): Promise<StoredJob[]> {
    return this.connection.exec('listJobs', async (pool) => {
      const { rows } = await pool.query<{ job: unknown }>(
        `SELECT ${this.s}.job_json(jj) AS job FROM ${this.s}.jobs jj
         WHERE $1::text IS NULL OR coalesce(jj.tenant, '') = $1::text ORDER BY jj.key`,
        [filter.tenantId ?? null],
      );
      return rows.map((row) => toStoredJob(row.job, 'listJobs'));
    });
  }

  async setPaused(key: string, paused: boolean): Promise<boolean> {
    return this.connection.exec('setPaused', async (pool) => {
      const { rows } = await pool.query<{ ok: boolean }>(`SELECT ${this.s}.set_paused($1, $2) AS ok`, [String(key), paused === true]);
      return rows[0]?.ok === true;
    });
  }

  async removeJob(key: string): Promise<boolean> {
    return this.connection.exec('removeJob', async (pool) => {
      // Runs, history and one-off ids go with the job (ON DELETE CASCADE).
      const result = await pool.query(`DELETE FROM ${this.s}.jobs WHERE key = $1`, [String(key)]);
      return (result.rowCount ?? 0) > 0;
    });
  }

  async claimSlot(claim: SlotClaim): Promise<SlotClaimResult> {
    return (await this.claimSlots([claim]))[0]!;
  }

  async claimSlots(claims: readonly SlotClaim[]): Promise<SlotClaimResult[]> {
    if (claims.length === 0) return [];
    return this.connection.exec('claimSlots', async (pool) => {
      const { rows } = await pool.query<{ result: unknown }>(`SELECT ${this.s}.claim_slots($1::jsonb, $2) AS result`, [
        JSON.stringify(claims.map(encodeClaim)),
        this.historyLimit,
      ]);
      const replies = list(rows[0]?.result, 'claim_slots');
      if (replies.length !== claims.length) throw unexpectedAnswer('claim_slots', `${replies.length} answers for ${claims.length} claims`);
      return replies.map((reply) => toSlotClaimResult(reply, 'claim_slots'));
    });
  }

  async enqueueRun(run: RunEnqueue): Promise<{ run: RunSummary; created: boolean }> {
    return this.connection.exec('enqueueRun', (pool) => enqueueRun(pool, this.s, run));
  }

  async getRun(lookup: RunLookup): Promise<StoredRun | null> {
    return this.connection.exec('getRun', (pool) => getRun(pool, this.s, lookup));
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    return this.connection.exec('listRuns', (pool) => listRuns(pool, this.s, query));
  }

  async cancelRun(cancel: RunCancel): Promise<RunCancelResult> {
    return this.connection.exec('cancelRun', (pool) => cancelRun(pool, this.s, this.historyLimit, cancel));
  }

  async rescheduleRun(reschedule: RunReschedule): Promise<RunRescheduleResult> {
    return this.connection.exec('rescheduleRun', (pool) => rescheduleRun(pool, this.s, this.historyLimit, reschedule));
  }

  onRunCancelled(listener: (run: CancelledRunRef) => void): () => void {
    return this.connection.onRunCancelled(listener);
  }

  async claimDueRuns(request: DueRunsClaim): Promise<DueRunsClaimed> {
    return this.connection.exec('claimDueRuns', async (pool) => {
      const keys = request.keys === undefined ? null : [...request.keys.all()];
      const { rows } = await pool.query<{ result: unknown }>(`SELECT ${this.s}.claim_due_runs($1, $2, $3::text[], $4::text[]) AS result`, [
        String(request.instanceId),
        finite('claimDueRuns', 'leaseMs', request.leaseMs),
        request.runIds.map(String),
        keys,
      ]);
      const answer = object(rows[0]?.result, 'claim_due_runs');
      return {
        runs: list(answer.runs, 'claim_due_runs').map((run) => toClaimedRun(run, 'claim_due_runs')),
        nextDueAt: answer.nextDueAt == null ? null : Number(answer.nextDueAt),
      };
    });
  }

  async nextDueAt(): Promise<number | null> {
    return this.connection.exec('nextDueAt', async (pool) => {
      const { rows } = await pool.query<{ next: number | null }>(`SELECT ${this.s}.next_due_at() AS next`);
      return rows[0]?.next ?? null;
    });
  }

  async releaseClaims(instanceId: string, runIds: readonly string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return this.connection.exec('releaseClaims', (pool) => releaseClaims(pool, this.s, instanceId, runIds));
  }

  async heartbeat(runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]> {
    if (runs.length === 0) return [];
    return this.connection.exec('heartbeat', (pool) => heartbeat(pool, this.s, runs, leaseMs));
  }

  async finishRun(finish: RunFinish): Promise<{ recorded: boolean }> {
    const [recorded] = await this.finishRuns([finish]);
    return { recorded: recorded! };
  }

  async finishRuns(finishes: readonly RunFinish[]): Promise<boolean[]> {
    if (finishes.length === 0) return [];
    return this.connection.exec('finishRuns', (pool) => finishRuns(pool, this.s, this.historyLimit, finishes));
  }

  async reapStalledRuns(): Promise<StalledRun[]> {
    return this.connection.exec('reapStalledRuns', (pool) => reapStalledRuns(pool, this.s, this.historyLimit, this.stalledText));
  }

  async history(key: string, limit: number): Promise<HistoryEntry[]> {
    if (!(limit > 0)) return [];
    const count = Math.min(Number.isFinite(limit) ? Math.floor(limit) : this.historyLimit, this.historyLimit);
    if (count < 1) return [];
    return this.connection.exec('history', async (pool) => {
      // The table may hold a few entries past the limit (push_history trims in steps).
      const { rows } = await pool.query<{ entry: unknown }>(
        `SELECT entry FROM ${this.s}.history WHERE job_key = $1 ORDER BY seq DESC LIMIT $2`,
        [String(key), count],
      );
      return rows.map((row) => toHistoryEntry(row.entry, 'history'));
    });
  }

  async sweep(options: { retentionMs: number; orphanTimeoutMs: number }): Promise<SweepResult> {
    return this.connection.exec('sweep', async (pool) => {
      const { rows } = await pool.query<{ result: unknown }>(`SELECT ${this.s}.sweep($1, $2) AS result`, [
        finite('sweep', 'retentionMs', options.retentionMs),
        finite('sweep', 'orphanTimeoutMs', options.orphanTimeoutMs),
      ]);
      const answer = object(rows[0]?.result, 'sweep');
      return { runsDeleted: Number(answer.runsDeleted), jobsDeleted: Number(answer.jobsDeleted) };
    });
  }

  onRunsChanged(listener: () => void): () => void {
    return this.connection.onRunsChanged(listener);
  }
}

// ---- arguments -----------------------------------------------------------------

/** A JobUpsert as upsert_jobs reads it (numbers checked: JSON would make NaN a null). */
function encodeUpsert(job: JobUpsert): Record<string, unknown> {
  return {
    key: String(job.key),
    name: String(job.name),
    tenantId: job.tenantId ?? null,
    schedule: job.schedule ?? null,
    definitionHash: String(job.definitionHash),
    definedAt: finiteOrNull('upsertJobs', 'definedAt', job.definedAt),
    nextRunAt: finiteOrNull('upsertJobs', 'nextRunAt', job.nextRunAt),
    limit: finiteOrNull('upsertJobs', 'limit', job.limit),
    rateLimit:
      job.rateLimit == null
        ? null
        : {
            key: String(job.rateLimit.key),
            max: finite('upsertJobs', 'rateLimit.max', job.rateLimit.max),
            perMs: finite('upsertJobs', 'rateLimit.perMs', job.rateLimit.perMs),
          },
    runOnStart: job.runOnStart == null ? null : { maxAttempts: finite('upsertJobs', 'runOnStart.maxAttempts', job.runOnStart.maxAttempts) },
  };
}

/** A SlotClaim as claim_slot reads it. */
function encodeClaim(claim: SlotClaim): Record<string, unknown> {
  return {
    key: String(claim.key),
    slot: finite('claimSlot', 'slot', claim.slot),
    runId: String(claim.runId),
    instanceId: String(claim.instanceId),
    leaseMs: finite('claimSlot', 'leaseMs', claim.leaseMs),
    definitionHash: String(claim.definitionHash),
    overlap: claim.overlap,
    nextRunAt: finiteOrNull('claimSlot', 'nextRunAt', claim.nextRunAt),
    requeueOnStall: claim.requeueOnStall === true,
    maxAttempts: finite('claimSlot', 'maxAttempts', claim.maxAttempts),
    skip: claim.skip === 'excluded' || claim.skip === 'rate-limited' ? claim.skip : null,
    previousSlots: (claim.previousSlots ?? []).map((slot) => finite('claimSlot', 'previousSlots', slot)),
  };
}
