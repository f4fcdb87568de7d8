/**
 * cancel_run(p_key text, p_id text, p_instance text, p_abort boolean, p_history_limit integer)
 * RETURNS jsonb (cancel-run.lua on Redis, run-changes.ts in memory). Answers
 * `{ status, run: StoredRun | null }`:
 * - `cancelled`: the run was pending (finished as cancelled, kept as done
 *   until the sweep, slot runs too; one history entry, reason `cancel`), or
 *   was cancelled before (nothing changes);
 * - `cancelling`: the run is active; `cancel_requested` is stored so its
 *   finish and the reaper never put it back; each new request appends one
 *   entry (reason `cancel` or `abort`), and a new abort notifies every
 *   instance on the run-cancelled channel (heartbeat answers `cancel` too);
 * - `finished`: it ended before with another outcome; `not-found`.
 */
export function cancelRunSql(s: string, cancelledChannel: string, raw: string): string {
  return `
CREATE FUNCTION ${s}.cancel_run(p_key text, p_id text, p_instance text, p_abort boolean, p_history_limit integer)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_job ${s}.jobs;
  v_run ${s}.runs;
  v_status text;
  v_abort_asked boolean;
BEGIN
  SELECT * INTO v_job FROM ${s}.jobs WHERE key = p_key FOR NO KEY UPDATE;
  IF NOT FOUND THEN RETURN '{"status":"not-found","run":null}'; END IF;
  SELECT * INTO v_run FROM ${s}.runs WHERE job_key = p_key AND id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN '{"status":"not-found","run":null}'; END IF;
  IF v_run.state = 'done' THEN
    v_status := CASE WHEN v_run.outcome = 'cancelled' THEN 'cancelled' ELSE 'finished' END;
  ELSIF v_run.state = 'pending' THEN
    UPDATE ${s}.runs SET state = 'done', outcome = 'cancelled', finished_at = v_now
      WHERE job_key = p_key AND id = p_id;
    PERFORM ${s}.push_history(p_key, ${s}.history_entry(v_run.run_id, v_run.id, v_run.kind, v_run.scheduled_at, NULL,
      v_now, 'cancelled', 'cancel', NULL, p_instance, v_run.attempt), p_history_limit);
    v_status := 'cancelled';
  ELSE
    v_abort_asked := p_abort AND v_run.cancel_requested IS DISTINCT FROM 'abort';
    IF v_run.cancel_requested IS NULL OR v_abort_asked THEN
      UPDATE ${s}.runs SET cancel_requested = CASE WHEN p_abort THEN 'abort' ELSE 'cancel' END
        WHERE job_key = p_key AND id = p_id;
      PERFORM ${s}.push_history(p_key, ${s}.history_entry(v_run.run_id, v_run.id, v_run.kind, v_run.scheduled_at,
        NULL, v_now, 'cancelled', CASE WHEN p_abort THEN 'abort' ELSE 'cancel' END, NULL, p_instance,
        v_run.attempt), p_history_limit);
      IF v_abort_asked THEN
        PERFORM pg_notify('${cancelledChannel}',
          jsonb_build_object('schema', '${raw}', 'key', p_key, 'id', p_id)::text);
      END IF;
    END IF;
    v_status := 'cancelling';
  END IF;
  SELECT * INTO v_run FROM ${s}.runs WHERE job_key = p_key AND id = p_id;
  RETURN jsonb_build_object('status', v_status, 'run', ${s}.run_json(v_run, v_job));
END
$fn$;
`;
}
