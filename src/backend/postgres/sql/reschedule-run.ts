/**
 * reschedule_run(p_key text, p_id text, p_instance text, p_at float8, p_history_limit integer)
 * RETURNS jsonb (reschedule-run.lua on Redis, run-changes.ts in memory):
 * moves a pending or retrying run to p_at (its scheduledAt and due time),
 * appending one history entry (outcome `rescheduled`, reason: the previous
 * scheduledAt) unless it is at that time already. Answers
 * `{ status: 'rescheduled' | 'running' | 'finished' | 'not-found', run }`.
 * The moved run keeps its attempt and waits where it would (a paused job's
 * run stays held back); instances are told runs changed.
 */
export function rescheduleRunSql(s: string): string {
  return `
CREATE FUNCTION ${s}.reschedule_run(p_key text, p_id text, p_instance text, p_at float8, p_history_limit integer)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_job ${s}.jobs;
  v_run ${s}.runs;
  v_status text := 'rescheduled';
  v_previous text;
BEGIN
  SELECT * INTO v_job FROM ${s}.jobs WHERE key = p_key FOR NO KEY UPDATE;
  IF NOT FOUND THEN RETURN '{"status":"not-found","run":null}'; END IF;
  SELECT * INTO v_run FROM ${s}.runs WHERE job_key = p_key AND id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN '{"status":"not-found","run":null}'; END IF;
  IF v_run.state = 'active' THEN
    v_status := 'running';
  ELSIF v_run.state = 'done' THEN
    v_status := 'finished';
  ELSIF v_run.scheduled_at <> p_at OR v_run.due_at <> p_at THEN
    v_previous := v_run.scheduled_at::text;
    UPDATE ${s}.runs SET scheduled_at = p_at, due_at = p_at, seq = nextval('${s}.pending_seq'),
      held = ${s}.held(p_key, exclusive)
      WHERE job_key = p_key AND id = p_id
      RETURNING * INTO v_run;
    PERFORM ${s}.push_history(p_key, ${s}.history_entry(v_run.run_id, v_run.id, v_run.kind, p_at, NULL, v_now,
      'rescheduled', v_previous, NULL, p_instance, v_run.attempt), p_history_limit);
    PERFORM ${s}.notify_runs_changed();
  END IF;
  RETURN jsonb_build_object('status', v_status, 'run', ${s}.run_json(v_run, v_job));
END
$fn$;
`;
}
