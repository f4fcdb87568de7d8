/**
 * reap_stalled(p_history_limit integer, p_before text, p_between text, p_after text) RETURNS jsonb
 * (reap-stalled.lua on Redis, reap-stalled.ts in memory): finds active runs
 * whose lease ran out by the database clock, records each as stalled, and
 * puts it back to pending (attempt + 1, due now) when it asked for that at
 * claim time, has attempts left and was not cancelled; otherwise finishes it.
 * Answers a JSON array of StalledRun.
 *
 * The stall error is p_before || instance id || p_between || overdue ms ||
 * p_after (the text lives in src/errors/messages.ts).
 *
 * The outage rule (Backend.heartbeatInstance; OutageGrace in memory):
 * reaps nothing while no instance has been heard from for more than half
 * the last heartbeat's ttl, nor before `heard.reap_after`.
 */
export function reapStalledSql(s: string): string {
  return `
CREATE FUNCTION ${s}.reap_stalled(p_history_limit integer, p_before text, p_between text, p_after text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_heard ${s}.heard;
  v_keys text[];
  v_run ${s}.runs;
  v_error text;
  v_requeued boolean;
  v_wake boolean := false;
  -- Appended in place (an expanded array), not copied per element as a jsonb value would be.
  v_out jsonb[] := '{}';
BEGIN
  SELECT * INTO v_heard FROM ${s}.heard;
  IF FOUND AND (v_now - v_heard.heard_at > v_heard.ttl / 2 OR v_now < v_heard.reap_after) THEN RETURN to_jsonb(v_out); END IF;
  v_keys := ${s}.lock_jobs(ARRAY(
    SELECT rr.job_key FROM ${s}.runs rr WHERE rr.state = 'active' AND rr.lease_until < v_now));
  IF cardinality(v_keys) = 0 THEN RETURN to_jsonb(v_out); END IF;
  FOR v_run IN
    SELECT rr.* FROM ${s}.runs rr
    WHERE rr.state = 'active' AND rr.lease_until < v_now AND rr.job_key = ANY (v_keys)
    ORDER BY rr.lease_until, rr.job_key, rr.id
    FOR UPDATE SKIP LOCKED
  LOOP
    v_error := p_before || v_run.instance_id || p_between || (v_now - v_run.lease_until)::text || p_after;
    PERFORM ${s}.push_history(v_run.job_key, ${s}.history_entry(v_run.run_id, v_run.id, v_run.kind,
      v_run.scheduled_at, v_run.claimed_at, v_now, 'stalled', NULL, v_error, v_run.instance_id, v_run.attempt),
      p_history_limit);
    UPDATE ${s}.jobs SET run_count = run_count + 1, fail_count = fail_count + 1, last_outcome = 'stalled',
      last_error = v_error, active = active - 1,
      active_exclusive = active_exclusive - CASE WHEN v_run.exclusive THEN 1 ELSE 0 END
      WHERE key = v_run.job_key;
    IF v_run.exclusive AND ${s}.promote(v_run.job_key) THEN v_wake := true; END IF;
    v_requeued := v_run.requeue_on_stall AND v_run.attempt < v_run.max_attempts AND v_run.cancel_requested IS NULL;
    IF v_requeued THEN
      UPDATE ${s}.runs SET state = 'pending', attempt = attempt + 1, due_at = v_now,
        seq = nextval('${s}.pending_seq'), held = ${s}.held(v_run.job_key, v_run.exclusive)
        WHERE job_key = v_run.job_key AND id = v_run.id;
      v_wake := true;
    ELSE
      PERFORM ${s}.retire(v_run.job_key, v_run.id, v_run.kind, 'stalled', v_now, false);
    END IF;
    v_out := array_append(v_out, jsonb_build_object('key', v_run.job_key, 'id', v_run.id, 'kind', v_run.kind,
      'scheduledAt', v_run.scheduled_at, 'attempt', v_run.attempt, 'instanceId', v_run.instance_id,
      'requeued', v_requeued));
  END LOOP;
  IF v_wake THEN PERFORM ${s}.notify_runs_changed(); END IF;
  RETURN to_jsonb(v_out);
END
$fn$;
`;
}
