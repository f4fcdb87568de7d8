/**
 * upsert_jobs(p_jobs jsonb) RETURNS jsonb (upsert-jobs.lua on Redis,
 * `MemoryBackend.upsertJobs`): records that the caller has these jobs
 * registered. p_jobs is a JSON array of JobUpsert; the answer a JSON array of
 * `{ key, created, definitionChanged, definedAt, stored }`, in input order.
 *
 * A new job is created (INSERT ... ON CONFLICT DO NOTHING: of concurrent
 * upserts of one new job exactly one creates it, and only that one enqueues
 * its on-start run); a known one gets lastSeenAt = now and the latest rate
 * limit; a different definition replaces the stored one only when its
 * definedAt is not older (newest wins), keeping the dedup mark, fence and
 * counters. A definition sent with definedAt null is stamped with the
 * database clock. Jobs are handled in key order (the locking rule).
 */
export function upsertJobsSql(s: string): string {
  return `
CREATE FUNCTION ${s}.upsert_jobs(p_jobs jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_item record;
  v_job ${s}.jobs;
  v_key text;
  v_schedule jsonb;
  v_defined float8;
  v_rate jsonb;
  v_created boolean;
  v_changed boolean;
  -- Answers by input position (jobs are handled in key order).
  v_results jsonb[] := array_fill(NULL::jsonb, ARRAY[jsonb_array_length(p_jobs)]);
BEGIN
  FOR v_item IN
    SELECT e AS upsert, n FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS t(e, n) ORDER BY e->>'key', n
  LOOP
    v_key := v_item.upsert->>'key';
    v_schedule := CASE WHEN jsonb_typeof(v_item.upsert->'schedule') = 'object' THEN v_item.upsert->'schedule' END;
    v_defined := coalesce((v_item.upsert->>'definedAt')::float8, v_now);
    v_rate := CASE WHEN jsonb_typeof(v_item.upsert->'rateLimit') = 'object' THEN v_item.upsert->'rateLimit' END;
    v_created := false;
    v_changed := false;
    INSERT INTO ${s}.jobs (key, name, tenant, schedule, definition_hash, defined_at, run_limit, next_run_at,
      rate_key, rate_max, rate_per, created_at, last_seen_at)
    VALUES (v_key, v_item.upsert->>'name', v_item.upsert->>'tenantId', v_schedule, v_item.upsert->>'definitionHash',
      v_defined, (v_item.upsert->>'limit')::float8, (v_item.upsert->>'nextRunAt')::float8,
      v_rate->>'key', (v_rate->>'max')::float8, (v_rate->>'perMs')::float8, v_now, v_now)
    ON CONFLICT (key) DO NOTHING
    RETURNING * INTO v_job;
    IF FOUND THEN
      v_created := true;
      IF jsonb_typeof(v_item.upsert->'runOnStart') = 'object' THEN
        -- The on-start run: a one-off run due now, created with the job (once for the fleet).
        PERFORM ${s}.enqueue_trigger(v_key, coalesce(v_job.tenant, ''), 'on-start', v_now, v_now, NULL,
          (v_item.upsert->'runOnStart'->>'maxAttempts')::integer);
      END IF;
    ELSE
      SELECT * INTO v_job FROM ${s}.jobs WHERE key = v_key FOR NO KEY UPDATE;
      UPDATE ${s}.jobs SET last_seen_at = v_now, rate_key = v_rate->>'key', rate_max = (v_rate->>'max')::float8,
        rate_per = (v_rate->>'perMs')::float8
        WHERE key = v_key;
      IF v_job.definition_hash = v_item.upsert->>'definitionHash' THEN
        IF v_job.next_run_at IS NULL THEN
          UPDATE ${s}.jobs SET next_run_at = (v_item.upsert->>'nextRunAt')::float8 WHERE key = v_key;
        END IF;
        v_defined := v_job.defined_at;
      ELSIF v_defined >= v_job.defined_at THEN
        UPDATE ${s}.jobs SET schedule = v_schedule, definition_hash = v_item.upsert->>'definitionHash',
          defined_at = v_defined, run_limit = (v_item.upsert->>'limit')::float8,
          next_run_at = (v_item.upsert->>'nextRunAt')::float8, completed = false
          WHERE key = v_key;
        v_changed := true;
      END IF;
    END IF;
    SELECT * INTO v_job FROM ${s}.jobs WHERE key = v_key;
    v_results[v_item.n::integer] := (jsonb_build_object('key', v_key,
      'created', v_created, 'definitionChanged', v_changed, 'definedAt', v_defined, 'stored', ${s}.job_json(v_job)));
  END LOOP;
  RETURN to_jsonb(v_results);
END
$fn$;
`;
}
