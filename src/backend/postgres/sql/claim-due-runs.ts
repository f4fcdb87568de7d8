/**
 * claim_due_runs(p_instance text, p_lease float8, p_run_ids text[], p_keys text[]) RETURNS jsonb,
 * and next_due_at() RETURNS float8 (claim-due-runs.lua and next-due.lua on
 * Redis, claim-due-runs.ts in memory).
 *
 * Claims up to `array_length(p_run_ids)` pending runs due by the database
 * clock, oldest due first (ties: the order they became pending), of jobs in
 * p_keys (all when null), and answers `{ runs: ClaimedRun[], nextDueAt }` so
 * a poll is one round trip. Its cost does not grow with runs no poll can
 * claim: runs of a paused job, and exclusive runs of a job whose exclusive
 * run is active, are held (`runs.held`, out of the runs_due index) when they
 * become pending, or when a claim meets one that became unclaimable while in
 * the index; an exclusive job starts one run per call. A run whose rate
 * limit is used up stays pending, due when the window frees room, and the
 * call goes on with the others.
 *
 * The candidates' jobs are locked first, in key order, then their runs with
 * FOR UPDATE SKIP LOCKED; concurrent claimers wait on a shared job for each
 * other and then take the next runs, so no run is handed out twice.
 */

/** Runs a call looks at beyond those it may claim (held back by a rate limit, a pause or an exclusive run). */
const LOOK_AHEAD = 500;

export function claimDueRunsSql(s: string): string {
  return `
CREATE FUNCTION ${s}.next_due_at() RETURNS float8 LANGUAGE sql STABLE AS $fn$
  SELECT rr.due_at FROM ${s}.runs rr WHERE rr.state = 'pending' AND NOT rr.held ORDER BY rr.due_at, rr.seq LIMIT 1
$fn$;

CREATE FUNCTION ${s}.claim_due_runs(p_instance text, p_lease float8, p_run_ids text[], p_keys text[])
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_limit integer := coalesce(array_length(p_run_ids, 1), 0);
  v_claimed integer := 0;
  v_keys text[];
  v_run ${s}.runs;
  v_taken ${s}.runs;
  v_job ${s}.jobs;
  v_wait float8;
  v_fence bigint;
  -- Appended in place (an expanded array), not copied per element as a jsonb value would be.
  v_out jsonb[] := '{}';
BEGIN
  IF v_limit > 0 THEN
    v_keys := ${s}.lock_jobs(ARRAY(
      SELECT rr.job_key FROM ${s}.runs rr
      WHERE rr.state = 'pending' AND NOT rr.held AND rr.due_at <= v_now AND (p_keys IS NULL OR rr.job_key = ANY (p_keys))
      ORDER BY rr.due_at, rr.seq LIMIT v_limit + ${LOOK_AHEAD}));
  END IF;
  IF cardinality(v_keys) > 0 THEN
    FOR v_run IN
      SELECT rr.* FROM ${s}.runs rr
      WHERE rr.state = 'pending' AND NOT rr.held AND rr.due_at <= v_now AND rr.job_key = ANY (v_keys)
      ORDER BY rr.due_at, rr.seq LIMIT v_limit + ${LOOK_AHEAD}
      FOR UPDATE SKIP LOCKED
    LOOP
      EXIT WHEN v_claimed >= v_limit;
      -- Read again for each run: earlier claims of this call change the job.
      SELECT * INTO v_job FROM ${s}.jobs WHERE key = v_run.job_key;
      IF v_job.paused OR (v_run.exclusive AND v_job.active_exclusive > 0) THEN
        -- Became unclaimable while in the due index: out of it until it may run.
        UPDATE ${s}.runs SET held = true WHERE job_key = v_run.job_key AND id = v_run.id;
        CONTINUE;
      END IF;
      IF v_job.rate_key IS NOT NULL THEN
        v_wait := ${s}.take_rate(v_job.rate_key, v_job.rate_max, v_job.rate_per, v_now, p_run_ids[v_claimed + 1]);
        IF v_wait > 0 THEN
          -- Pending until the window has room; same seq, so ties keep their order.
          UPDATE ${s}.runs SET due_at = v_now + v_wait WHERE job_key = v_run.job_key AND id = v_run.id;
          CONTINUE;
        END IF;
      END IF;
      v_claimed := v_claimed + 1;
      UPDATE ${s}.jobs SET fence = fence + 1, active = active + 1,
        active_exclusive = active_exclusive + CASE WHEN v_run.exclusive THEN 1 ELSE 0 END
        WHERE key = v_run.job_key RETURNING fence INTO v_fence;
      UPDATE ${s}.runs SET state = 'active', run_id = p_run_ids[v_claimed], instance_id = p_instance, fence = v_fence,
        claimed_at = v_now, lease_until = v_now + p_lease
        WHERE job_key = v_run.job_key AND id = v_run.id
        RETURNING * INTO v_taken;
      v_out := array_append(v_out, ${s}.claimed_json(v_taken));
    END LOOP;
  END IF;
  RETURN jsonb_build_object('runs', to_jsonb(v_out), 'nextDueAt', ${s}.next_due_at());
END
$fn$;
`;
}
