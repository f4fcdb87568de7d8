/**
 * finish_runs(p_finishes jsonb, p_history_limit integer) RETURNS jsonb
 * (finish-runs.lua on Redis, finish-runs.ts in memory): ends active runs,
 * every run that finished in one turn of an instance's event loop, in one
 * call. p_finishes is a JSON array of RunFinish; the answer a JSON array of
 * booleans, true per run recorded, false (nothing changed) when the run is no
 * longer active with that fencing token.
 *
 * The history's finishedAt is the database clock minus endedMsAgo, startedAt
 * that minus durationMs; retries and requeues are due at the database clock
 * plus their delay. A run cancelRun was called on finishes with the outcome
 * sent and is never put back. Notifies only when something may have become
 * claimable: a run went back to pending, or an exclusive run ended and let a
 * held exclusive run of its job into the due index.
 */
export function finishRunsSql(s: string): string {
  return `
CREATE FUNCTION ${s}.finish_run(p_finish jsonb, p_now float8, p_history_limit integer) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  v_run ${s}.runs;
  v_outcome text := p_finish->>'outcome';
  v_error text := p_finish->>'error';
  v_duration float8 := greatest(0, (p_finish->>'durationMs')::float8);
  v_finished float8 := p_now - greatest(0, coalesce((p_finish->>'endedMsAgo')::float8, 0));
  v_started float8;
  v_wake boolean := false;
  v_promoted boolean := false;
BEGIN
  SELECT * INTO v_run FROM ${s}.runs WHERE job_key = p_finish->>'key' AND id = p_finish->>'id';
  IF NOT FOUND OR v_run.state <> 'active' OR v_run.fence <> (p_finish->>'fencingToken')::float8 THEN
    RETURN false;
  END IF;
  v_started := v_finished - v_duration;
  PERFORM ${s}.push_history(v_run.job_key, ${s}.history_entry(v_run.run_id, v_run.id, v_run.kind, v_run.scheduled_at,
    v_started, v_finished, v_outcome, NULL, v_error, p_finish->>'instanceId', v_run.attempt), p_history_limit);
  IF v_outcome = 'interrupted' THEN
    UPDATE ${s}.jobs SET active = active - 1,
      active_exclusive = active_exclusive - CASE WHEN v_run.exclusive THEN 1 ELSE 0 END
      WHERE key = v_run.job_key;
  ELSE
    UPDATE ${s}.jobs SET active = active - 1,
      active_exclusive = active_exclusive - CASE WHEN v_run.exclusive THEN 1 ELSE 0 END,
      run_count = run_count + 1, fail_count = fail_count + CASE WHEN v_outcome = 'success' THEN 0 ELSE 1 END,
      last_run_at = v_started, last_duration_ms = v_finished - v_started,
      last_error = CASE WHEN v_outcome = 'success' THEN NULL ELSE v_error END, last_outcome = v_outcome
      WHERE key = v_run.job_key;
  END IF;
  -- The end of an exclusive run lets the earliest held one of its job into the due index.
  IF v_run.exclusive THEN v_promoted := ${s}.promote(v_run.job_key); END IF;
  IF v_run.cancel_requested IS NOT NULL THEN
    -- cancelRun asked for it: it ends here, whatever the caller would retry.
    PERFORM ${s}.retire(v_run.job_key, v_run.id, v_run.kind, v_outcome, p_now, true);
  ELSIF jsonb_typeof(p_finish->'retryInMs') = 'number' THEN
    UPDATE ${s}.runs SET state = 'pending', attempt = attempt + 1, due_at = p_now + (p_finish->>'retryInMs')::float8,
      seq = nextval('${s}.pending_seq'), held = ${s}.held(v_run.job_key, v_run.exclusive)
      WHERE job_key = v_run.job_key AND id = v_run.id;
    v_wake := true;
  ELSIF jsonb_typeof(p_finish->'requeueInMs') = 'number' THEN
    UPDATE ${s}.runs SET state = 'pending', due_at = p_now + (p_finish->>'requeueInMs')::float8,
      seq = nextval('${s}.pending_seq'), held = ${s}.held(v_run.job_key, v_run.exclusive)
      WHERE job_key = v_run.job_key AND id = v_run.id;
    v_wake := true;
  ELSE
    PERFORM ${s}.retire(v_run.job_key, v_run.id, v_run.kind, v_outcome, p_now, false);
  END IF;
  IF v_wake OR v_promoted THEN
    PERFORM ${s}.notify_runs_changed();
  END IF;
  RETURN true;
END
$fn$;

CREATE FUNCTION ${s}.finish_runs(p_finishes jsonb, p_history_limit integer) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_finish jsonb;
  -- Appended in place (an expanded array), not copied per element as a jsonb value would be.
  v_out jsonb[] := '{}';
BEGIN
  PERFORM ${s}.lock_jobs(ARRAY(SELECT e->>'key' FROM jsonb_array_elements(p_finishes) e));
  PERFORM 1 FROM ${s}.runs rr WHERE (rr.job_key, rr.id) IN (
    SELECT e->>'key', e->>'id' FROM jsonb_array_elements(p_finishes) e)
    ORDER BY rr.job_key, rr.id FOR UPDATE;
  FOR v_finish IN SELECT e FROM jsonb_array_elements(p_finishes) WITH ORDINALITY AS t(e, n) ORDER BY n LOOP
    v_out := array_append(v_out, to_jsonb(${s}.finish_run(v_finish, v_now, p_history_limit)));
  END LOOP;
  RETURN to_jsonb(v_out);
END
$fn$;
`;
}
