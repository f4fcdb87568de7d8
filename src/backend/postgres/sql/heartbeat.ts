/**
 * heartbeat(p_keys text[], p_ids text[], p_fences float8[], p_lease float8) RETURNS jsonb
 * (heartbeat.lua on Redis): extends the lease of active runs to the database
 * clock + p_lease, in one call for every run in flight on an instance.
 * Answers a JSON array, per run: true (still active with that fencing token),
 * "cancel" (and cancelRun asked for it to be aborted), false (reaped,
 * finished or removed). Touches run rows only, in (job key, id) order.
 */
export function heartbeatSql(s: string): string {
  return `
CREATE FUNCTION ${s}.heartbeat(p_keys text[], p_ids text[], p_fences float8[], p_lease float8) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_cancel text;
  -- Appended in place (an expanded array), not copied per element as a jsonb value would be.
  v_out jsonb[] := '{}';
BEGIN
  PERFORM 1 FROM ${s}.runs rr WHERE (rr.job_key, rr.id) IN (SELECT * FROM unnest(p_keys, p_ids))
    AND rr.state = 'active' ORDER BY rr.job_key, rr.id FOR UPDATE;
  FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
    UPDATE ${s}.runs SET lease_until = v_now + p_lease
      WHERE job_key = p_keys[i] AND id = p_ids[i] AND state = 'active' AND fence = p_fences[i]
      RETURNING coalesce(cancel_requested, '') INTO v_cancel;
    v_out := array_append(v_out, CASE WHEN NOT FOUND THEN 'false'::jsonb
      WHEN v_cancel = 'abort' THEN '"cancel"'::jsonb ELSE 'true'::jsonb END);
  END LOOP;
  RETURN to_jsonb(v_out);
END
$fn$;
`;
}
