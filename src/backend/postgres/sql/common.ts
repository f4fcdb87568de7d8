/**
 * Helpers the operation functions share (the counterpart of the Redis
 * backend's lua/includes/common.lua): the database clock, history, the JSON
 * shapes answered to TypeScript, rate windows, retiring a run, one-off runs
 * and notices. `s` is the checked, quoted schema name.
 *
 * Locking rule, followed by every function that changes jobs or runs: lock
 * the job rows it will touch first, in key order (`FOR NO KEY UPDATE`, which
 * foreign-key checks do not wait for), then run rows in (job key, id) order.
 * Two calls then never wait for each other in a cycle; the rare deadlock left
 * (rate windows of disjoint jobs taken in opposite orders) is retried by the
 * caller, as the aborted call changed nothing.
 */

/** The channel `onRunsChanged` listens on; the payload is the schema name. */
export const RUNS_CHANGED_CHANNEL = 'schedkit_runs_changed';
/** The channel `onRunCancelled` listens on; the payload is JSON `{ schema, key, id }`. */
export const RUN_CANCELLED_CHANNEL = 'schedkit_run_cancelled';

/** The schema name without its quotes (it is `[a-z0-9_]`, safe inside a literal). */
export function rawSchema(s: string): string {
  return s.slice(1, -1);
}

export function commonSql(s: string): string {
  const raw = rawSchema(s);
  return `
-- The database clock in epoch ms: the only clock any decision uses.
CREATE FUNCTION ${s}.now_ms() RETURNS float8 LANGUAGE sql VOLATILE AS $fn$
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8
$fn$;

-- The locking rule (above): locks the rows of the jobs of p_keys that exist,
-- in key order, and answers their keys in that order.
CREATE FUNCTION ${s}.lock_jobs(p_keys text[]) RETURNS text[] LANGUAGE sql VOLATILE AS $fn$
  SELECT coalesce(array_agg(l.key ORDER BY l.key), '{}') FROM (
    SELECT jk.key FROM ${s}.jobs jk WHERE jk.key = ANY (p_keys) ORDER BY jk.key FOR NO KEY UPDATE) l
$fn$;

-- Whether a pending run of p_key waits out of the due index (runs_due), so
-- polls never read it: its job is paused, or it is exclusive and an
-- exclusive run of its job is active. Set when a run becomes pending, and
-- when a claim meets a run that became unclaimable while in the index;
-- cleared by a resume (set_paused) and, one run per end of an exclusive
-- run, by promote.
CREATE FUNCTION ${s}.held(p_key text, p_exclusive boolean) RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT coalesce((SELECT jj.paused OR (p_exclusive AND jj.active_exclusive > 0) FROM ${s}.jobs jj WHERE jj.key = p_key), false)
$fn$;

-- Lets the earliest held exclusive run of p_key back into the due index when
-- nothing holds it back any more; true when one moved.
CREATE FUNCTION ${s}.promote(p_key text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE ${s}.runs SET held = false WHERE (job_key, id) = (
    SELECT rr.job_key, rr.id FROM ${s}.runs rr JOIN ${s}.jobs jj ON jj.key = rr.job_key
    WHERE rr.job_key = p_key AND rr.state = 'pending' AND rr.held AND rr.exclusive AND NOT jj.paused
      AND jj.active_exclusive = 0
    ORDER BY rr.due_at, rr.seq LIMIT 1);
  RETURN FOUND;
END
$fn$;

-- One history entry, as HistoryEntry.
CREATE FUNCTION ${s}.history_entry(p_run_id text, p_id text, p_kind text, p_scheduled float8, p_started float8,
  p_finished float8, p_outcome text, p_reason text, p_error text, p_instance text, p_attempt integer)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_build_object('runId', p_run_id, 'id', p_id, 'kind', p_kind, 'scheduledAt', p_scheduled,
    'startedAt', p_started, 'finishedAt', p_finished, 'outcome', p_outcome, 'reason', p_reason, 'error', p_error,
    'instanceId', p_instance, 'attempt', p_attempt)
$fn$;

-- Appends a history entry to a job and keeps its newest p_limit: trimmed once
-- an eighth (at least 8) past the limit, not at every push; readers stop at
-- the limit.
CREATE FUNCTION ${s}.push_history(p_key text, p_entry jsonb, p_limit integer) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  v_count integer;
BEGIN
  INSERT INTO ${s}.history (job_key, entry) VALUES (p_key, p_entry);
  UPDATE ${s}.jobs SET history_count = history_count + 1 WHERE key = p_key RETURNING history_count INTO v_count;
  IF v_count > p_limit + greatest(8, ceil(p_limit / 8.0)) THEN
    DELETE FROM ${s}.history hh WHERE hh.job_key = p_key AND hh.seq <= (
      SELECT h2.seq FROM ${s}.history h2 WHERE h2.job_key = p_key ORDER BY h2.seq DESC OFFSET p_limit LIMIT 1);
    UPDATE ${s}.jobs SET history_count = p_limit WHERE key = p_key;
  END IF;
END
$fn$;

-- A job as StoredJob. A job without schedule shows its earliest pending run's due time as nextRunAt.
CREATE FUNCTION ${s}.job_json(p_job ${s}.jobs) RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT jsonb_build_object(
    'key', p_job.key, 'name', p_job.name, 'tenantId', p_job.tenant, 'schedule', p_job.schedule,
    'definitionHash', p_job.definition_hash, 'definedAt', p_job.defined_at, 'limit', p_job.run_limit,
    'paused', p_job.paused, 'completed', p_job.completed, 'lastSlot', p_job.last_slot,
    'slotCount', p_job.slot_count, 'fence', p_job.fence,
    'nextRunAt', CASE WHEN p_job.schedule IS NULL
      THEN (SELECT rr.due_at FROM ${s}.runs rr WHERE rr.job_key = p_job.key AND rr.state = 'pending' ORDER BY rr.due_at LIMIT 1)
      ELSE p_job.next_run_at END,
    'lastRunAt', p_job.last_run_at, 'lastDurationMs', p_job.last_duration_ms, 'lastError', p_job.last_error,
    'lastOutcome', p_job.last_outcome, 'runCount', p_job.run_count, 'failCount', p_job.fail_count,
    'skippedCount', p_job.skipped_count, 'activeRuns', p_job.active,
    'rateLimit', CASE WHEN p_job.rate_key IS NULL THEN NULL
      ELSE jsonb_build_object('key', p_job.rate_key, 'max', p_job.rate_max, 'perMs', p_job.rate_per) END,
    'createdAt', p_job.created_at, 'lastSeenAt', p_job.last_seen_at)
$fn$;

-- A run as StoredRun (getRun, listRuns, cancelRun, rescheduleRun).
CREATE FUNCTION ${s}.run_json(p_run ${s}.runs, p_job ${s}.jobs) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_build_object(
    'id', p_run.id, 'key', p_run.job_key, 'name', p_job.name, 'tenantId', p_job.tenant, 'kind', p_run.kind,
    'state', CASE p_run.state
      WHEN 'pending' THEN CASE WHEN p_run.attempt > 1 THEN 'retrying' ELSE 'pending' END
      WHEN 'active' THEN 'running' ELSE 'done' END,
    'scheduledAt', p_run.scheduled_at, 'dueAt', p_run.due_at, 'attempt', p_run.attempt, 'outcome', p_run.outcome,
    'instanceId', CASE WHEN p_run.state = 'active' THEN p_run.instance_id END,
    'params', p_run.params, 'cancelRequested', p_run.cancel_requested IS NOT NULL)
$fn$;

-- A run as RunSummary (enqueueRun, a buffered slot).
CREATE FUNCTION ${s}.summary_json(p_run ${s}.runs) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_build_object('id', p_run.id, 'key', p_run.job_key, 'kind', p_run.kind, 'state', p_run.state,
    'scheduledAt', p_run.scheduled_at, 'dueAt', p_run.due_at, 'attempt', p_run.attempt, 'outcome', p_run.outcome)
$fn$;

-- A run just claimed, as ClaimedRun.
CREATE FUNCTION ${s}.claimed_json(p_run ${s}.runs) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT jsonb_build_object('runId', p_run.run_id, 'id', p_run.id, 'key', p_run.job_key, 'kind', p_run.kind,
    'scheduledAt', p_run.scheduled_at, 'attempt', p_run.attempt, 'params', p_run.params,
    'exclusive', p_run.exclusive, 'fencingToken', p_run.fence, 'claimedAt', p_run.claimed_at)
$fn$;

-- 0 when a run may start under the rate limit now (and takes the room), else
-- how many ms until the window frees room (nothing taken). A start at t
-- counts while now < t + per. The window of one key is changed by one
-- transaction at a time (a transaction-level advisory lock per key).
CREATE FUNCTION ${s}.take_rate(p_rate_key text, p_max float8, p_per float8, p_now float8, p_run_id text)
RETURNS float8 LANGUAGE plpgsql AS $fn$
DECLARE
  v_count bigint;
  v_edge float8;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('schedkit:${raw}:rate:' || p_rate_key, 0));
  DELETE FROM ${s}.rate_starts WHERE rate_key = p_rate_key AND started_at <= p_now - p_per;
  SELECT count(*) INTO v_count FROM ${s}.rate_starts WHERE rate_key = p_rate_key;
  IF v_count >= p_max THEN
    -- Room comes back when enough of the oldest starts leave the window.
    SELECT started_at INTO v_edge FROM ${s}.rate_starts WHERE rate_key = p_rate_key
      ORDER BY started_at OFFSET (v_count - p_max::bigint) LIMIT 1;
    RETURN greatest(1, v_edge + p_per - p_now);
  END IF;
  INSERT INTO ${s}.rate_starts (rate_key, started_at, run_id) VALUES (p_rate_key, p_now, p_run_id);
  RETURN 0;
END
$fn$;

-- A finished run: one-off runs (and runs cancelRun touched, p_kept) stay as
-- done (id idempotency, a repeated cancel) until the retention sweep; other
-- slot runs are deleted.
CREATE FUNCTION ${s}.retire(p_key text, p_id text, p_kind text, p_outcome text, p_now float8, p_kept boolean)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF p_kind = 'trigger' OR p_kept THEN
    UPDATE ${s}.runs SET state = 'done', outcome = p_outcome, finished_at = p_now WHERE job_key = p_key AND id = p_id;
  ELSE
    DELETE FROM ${s}.runs WHERE job_key = p_key AND id = p_id;
  END IF;
END
$fn$;

-- Tells every instance that pending runs may have become claimable (sent at commit; best effort).
CREATE FUNCTION ${s}.notify_runs_changed() RETURNS void LANGUAGE sql AS $fn$
  SELECT pg_notify('${RUNS_CHANGED_CHANNEL}', '${raw}')
$fn$;

-- Stores a pending one-off run of p_key. Its id enters the tenant's one-off
-- ids unless another job holds it there (enqueue_run refused that case
-- before; every job's on-start run is named on-start, and those that find
-- the id taken are found by job key).
CREATE FUNCTION ${s}.enqueue_trigger(p_key text, p_tenant text, p_id text, p_scheduled float8, p_due float8,
  p_params text, p_max_attempts integer) RETURNS ${s}.runs LANGUAGE plpgsql AS $fn$
DECLARE
  v_run ${s}.runs;
BEGIN
  INSERT INTO ${s}.trigger_ids (tenant, id, job_key) VALUES (p_tenant, p_id, p_key) ON CONFLICT DO NOTHING;
  INSERT INTO ${s}.runs (job_key, id, kind, state, scheduled_at, due_at, seq, attempt, exclusive, requeue_on_stall,
    max_attempts, params, run_id, held)
  VALUES (p_key, p_id, 'trigger', 'pending', p_scheduled, p_due, nextval('${s}.pending_seq'), 1, false, true,
    p_max_attempts, p_params, p_id, ${s}.held(p_key, false))
  RETURNING * INTO v_run;
  PERFORM ${s}.notify_runs_changed();
  RETURN v_run;
END
$fn$;
`;
}
