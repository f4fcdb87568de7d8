/**
 * set_paused(p_key text, p_paused boolean) RETURNS boolean (set-paused.lua on
 * Redis): sets or clears a job's pause flag; false when the job is unknown.
 *
 * Pausing moves nothing: a claim that meets a due run of a paused job holds
 * it (out of the due index), and runs that become pending while the job is
 * paused are held at once. Resuming lets the held runs back, keeping their
 * due order (due time, then seq), and lets the earliest held exclusive run
 * in when no exclusive run is active (the others follow one per end of an
 * exclusive run). A resume of a job with pending runs tells every instance
 * runs changed.
 */
export function setPausedSql(s: string): string {
  return `
CREATE FUNCTION ${s}.set_paused(p_key text, p_paused boolean) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE ${s}.jobs SET paused = p_paused WHERE key = p_key;
  IF NOT FOUND THEN RETURN false; END IF;
  IF NOT p_paused THEN
    UPDATE ${s}.runs SET held = false WHERE job_key = p_key AND state = 'pending' AND held AND NOT exclusive;
    PERFORM ${s}.promote(p_key);
    IF EXISTS (SELECT 1 FROM ${s}.runs rr WHERE rr.job_key = p_key AND rr.state = 'pending') THEN
      PERFORM ${s}.notify_runs_changed();
    END IF;
  END IF;
  RETURN true;
END
$fn$;
`;
}
