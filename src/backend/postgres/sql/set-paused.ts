/**
 * set_paused(p_key text, p_paused boolean) RETURNS boolean (set-paused.lua on
 * Redis): sets or clears a job's pause flag; false when the job is unknown.
 * Pausing moves nothing: claims and nextDueAt leave a paused job's runs
 * alone, so resuming gives them back in their due order at once. A resume
 * of a job with pending runs tells every instance runs changed.
 */
export function setPausedSql(s: string): string {
  return `
CREATE FUNCTION ${s}.set_paused(p_key text, p_paused boolean) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE ${s}.jobs SET paused = p_paused WHERE key = p_key;
  IF NOT FOUND THEN RETURN false; END IF;
  IF NOT p_paused AND EXISTS (SELECT 1 FROM ${s}.runs rr WHERE rr.job_key = p_key AND rr.state = 'pending') THEN
    PERFORM ${s}.notify_runs_changed();
  END IF;
  RETURN true;
END
$fn$;
`;
}
