/**
 * sweep(p_retention float8, p_orphan float8) RETURNS jsonb (sweep.lua on
 * Redis, sweep.ts in memory): deletes finished runs kept (one-off runs,
 * cancelled runs) older than p_retention, with their one-off ids, and jobs
 * not seen registered for p_orphan unless a run of theirs is active (with
 * their runs and history). Answers `{ runsDeleted, jobsDeleted }`.
 */
export function sweepSql(s: string): string {
  return `
CREATE FUNCTION ${s}.sweep(p_retention float8, p_orphan float8) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_runs integer;
  v_jobs integer;
BEGIN
  DELETE FROM ${s}.runs WHERE state = 'done' AND finished_at < v_now - p_retention;
  GET DIAGNOSTICS v_runs = ROW_COUNT;
  WITH orphans AS (
    SELECT jk.key FROM ${s}.jobs jk WHERE jk.last_seen_at < v_now - p_orphan AND jk.active = 0
    ORDER BY jk.key FOR UPDATE SKIP LOCKED)
  DELETE FROM ${s}.jobs jj USING orphans WHERE jj.key = orphans.key;
  GET DIAGNOSTICS v_jobs = ROW_COUNT;
  RETURN jsonb_build_object('runsDeleted', v_runs, 'jobsDeleted', v_jobs);
END
$fn$;
`;
}
