/**
 * release_claims(p_instance text, p_run_ids text[]) RETURNS integer
 * (release-claims.lua on Redis, release-claims.ts in memory): gives back runs
 * p_instance claimed under one of these attempt ids but never heard of (its
 * claiming call failed on its side, yet ran here). Each goes back to pending,
 * due now, same attempt, with no history entry; one cancelRun asked to stop
 * meanwhile finishes as cancelled instead. Answers how many were given back.
 */
export function releaseClaimsSql(s: string): string {
  return `
CREATE FUNCTION ${s}.release_claims(p_instance text, p_run_ids text[]) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_keys text[];
  v_run ${s}.runs;
  v_released integer := 0;
BEGIN
  v_keys := ${s}.lock_jobs(ARRAY(
    SELECT rr.job_key FROM ${s}.runs rr
    WHERE rr.state = 'active' AND rr.instance_id = p_instance AND rr.run_id = ANY (p_run_ids)));
  IF cardinality(v_keys) = 0 THEN RETURN 0; END IF;
  FOR v_run IN
    SELECT rr.* FROM ${s}.runs rr
    WHERE rr.state = 'active' AND rr.instance_id = p_instance AND rr.run_id = ANY (p_run_ids)
      AND rr.job_key = ANY (v_keys)
    ORDER BY rr.claimed_at, rr.fence
    FOR UPDATE
  LOOP
    UPDATE ${s}.jobs SET active = active - 1,
      active_exclusive = active_exclusive - CASE WHEN v_run.exclusive THEN 1 ELSE 0 END
      WHERE key = v_run.job_key;
    IF v_run.exclusive THEN PERFORM ${s}.promote(v_run.job_key); END IF;
    IF v_run.cancel_requested IS NOT NULL THEN
      PERFORM ${s}.retire(v_run.job_key, v_run.id, v_run.kind, 'cancelled', v_now, true);
    ELSE
      UPDATE ${s}.runs SET state = 'pending', due_at = v_now, seq = nextval('${s}.pending_seq'),
        held = ${s}.held(v_run.job_key, v_run.exclusive)
        WHERE job_key = v_run.job_key AND id = v_run.id;
    END IF;
    v_released := v_released + 1;
  END LOOP;
  IF v_released > 0 THEN PERFORM ${s}.notify_runs_changed(); END IF;
  RETURN v_released;
END
$fn$;
`;
}
