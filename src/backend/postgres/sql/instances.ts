/**
 * heartbeat_instance(p_instance text, p_ttl float8) RETURNS text[]
 * (heartbeat-instance.lua on Redis, `MemoryBackend.heartbeatInstance` with
 * OutageGrace): says an instance is alive for p_ttl more by the database
 * clock and answers the ids of every live instance. Instances whose time ran
 * out are deleted.
 *
 * The outage rule: when no instance was heard from for more than p_ttl / 2,
 * nobody could reach the database, so reap_stalled leaves expired leases
 * alone until p_ttl from now (`heard.reap_after`).
 */
export function instancesSql(s: string): string {
  return `
CREATE FUNCTION ${s}.heartbeat_instance(p_instance text, p_ttl float8) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_alive text[];
BEGIN
  INSERT INTO ${s}.heard AS hh (one, heard_at, ttl) VALUES (true, v_now, p_ttl)
  ON CONFLICT (one) DO UPDATE SET heard_at = v_now, ttl = p_ttl,
    reap_after = CASE WHEN v_now - hh.heard_at > p_ttl / 2 THEN v_now + p_ttl ELSE hh.reap_after END;
  INSERT INTO ${s}.instances (id, alive_until) VALUES (p_instance, v_now + p_ttl)
  ON CONFLICT (id) DO UPDATE SET alive_until = EXCLUDED.alive_until;
  DELETE FROM ${s}.instances WHERE alive_until <= v_now;
  SELECT coalesce(array_agg(ii.id ORDER BY ii.id), '{}') INTO v_alive FROM ${s}.instances ii;
  RETURN v_alive;
END
$fn$;
`;
}
