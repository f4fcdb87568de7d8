/**
 * enqueue_run(p_key text, p_id text, p_due float8, p_scheduled float8, p_params text, p_max_attempts integer)
 * RETURNS jsonb (enqueue-run.lua on Redis): enqueues a one-off run,
 * idempotent by id. Answers `{ created, run: RunSummary }`, or
 * `{ error: 'job-not-found' }`, or `{ error: 'trigger-id-taken', holder }`
 * when the id names a stored one-off run of another job of the tenant.
 *
 * p_due null is the database clock now; p_scheduled null is the due time.
 * The tenant's id is taken first (its unique key decides between concurrent
 * enqueues of one id for two jobs); the job row is only read, so one-off runs
 * of one job are enqueued concurrently (the runs' foreign key keeps a job
 * being removed from getting new runs).
 */
export function enqueueRunSql(s: string): string {
  return `
CREATE FUNCTION ${s}.enqueue_run(p_key text, p_id text, p_due float8, p_scheduled float8, p_params text,
  p_max_attempts integer) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_tenant text;
  v_run ${s}.runs;
  v_holder text;
  v_due float8;
BEGIN
  SELECT coalesce(tenant, '') INTO v_tenant FROM ${s}.jobs WHERE key = p_key;
  IF NOT FOUND THEN RETURN '{"error":"job-not-found"}'; END IF;
  SELECT * INTO v_run FROM ${s}.runs WHERE job_key = p_key AND id = p_id;
  IF FOUND THEN RETURN jsonb_build_object('created', false, 'run', ${s}.summary_json(v_run)); END IF;
  SELECT job_key INTO v_holder FROM ${s}.trigger_ids WHERE tenant = v_tenant AND id = p_id;
  IF FOUND AND v_holder <> p_key THEN
    RETURN jsonb_build_object('error', 'trigger-id-taken', 'holder', v_holder);
  END IF;
  v_due := coalesce(p_due, ${s}.now_ms());
  v_run := ${s}.enqueue_trigger(p_key, v_tenant, p_id, coalesce(p_scheduled, v_due), v_due, p_params, p_max_attempts);
  -- A concurrent enqueue of this id for another job of the tenant took it first.
  SELECT job_key INTO v_holder FROM ${s}.trigger_ids WHERE tenant = v_tenant AND id = p_id;
  IF v_holder <> p_key THEN
    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'one-off run id taken concurrently; retry';
  END IF;
  RETURN jsonb_build_object('created', true, 'run', ${s}.summary_json(v_run));
END
$fn$;
`;
}
