/**
 * claim_slots(p_claims jsonb, p_history_limit integer) RETURNS jsonb — the
 * atomic heart of "exactly once per slot" (claim-slots.lua on Redis,
 * claim-slots.ts in memory). Every slot due in one wake of an instance goes in
 * one call: one round trip and one clock reading for the batch.
 *
 * p_claims: a JSON array of SlotClaim. Answers a JSON array of
 * SlotClaimResult, one per claim, in order; claims of one job see each
 * other's effects. The job rows of the batch are locked first, in key order,
 * and each claim's write is conditional on the dedup mark (`last_slot <
 * slot`), so two claims of one slot never both succeed, and a slot is never
 * claimed before its time by the database clock.
 */
export function claimSlotsSql(s: string): string {
  return `
CREATE FUNCTION ${s}.claim_slot(p_claim jsonb, p_now float8, p_history_limit integer) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  v_job ${s}.jobs;
  v_key text := p_claim->>'key';
  v_slot float8 := (p_claim->>'slot')::float8;
  v_run_id text := p_claim->>'runId';
  v_instance text := p_claim->>'instanceId';
  v_overlap text := p_claim->>'overlap';
  v_next float8 := (p_claim->>'nextRunAt')::float8;
  v_skip text := p_claim->>'skip';
  v_requeue boolean := coalesce((p_claim->>'requeueOnStall')::boolean, false);
  v_max_attempts integer := (p_claim->>'maxAttempts')::integer;
  v_last boolean := (p_claim->>'nextRunAt') IS NULL;
  v_previous text;
  v_count bigint;
  v_ended boolean;
  v_wait float8;
  v_exclusive boolean;
  v_fence bigint;
BEGIN
  SELECT * INTO v_job FROM ${s}.jobs WHERE key = v_key;
  IF NOT FOUND THEN RETURN '{"status":"removed"}'; END IF;
  IF v_job.definition_hash <> p_claim->>'definitionHash' THEN
    RETURN jsonb_build_object('status', 'superseded', 'stored', ${s}.job_json(v_job));
  END IF;
  IF p_now < v_slot THEN RETURN jsonb_build_object('status', 'early', 'retryInMs', v_slot - p_now); END IF;
  IF v_job.last_slot IS NOT NULL AND v_slot <= v_job.last_slot THEN RETURN '{"status":"taken"}'; END IF;
  IF v_job.completed THEN RETURN '{"status":"completed"}'; END IF;

  -- Slots before this one that other instances were to claim, oldest first:
  -- each never claimed (and not before the job existed) is on the record as
  -- missed, once; this claim makes it taken for good.
  IF jsonb_typeof(p_claim->'previousSlots') = 'array' THEN
    FOR v_previous IN
      SELECT e #>> '{}' FROM jsonb_array_elements(p_claim->'previousSlots') WITH ORDINALITY AS t(e, n) ORDER BY n DESC
    LOOP
      IF v_previous::float8 >= v_job.created_at AND (v_job.last_slot IS NULL OR v_previous::float8 > v_job.last_slot) THEN
        v_job.last_slot := v_previous::float8;
        PERFORM ${s}.push_history(v_key, ${s}.history_entry('missed-' || v_previous, 'missed-' || v_previous, 'slot',
          v_previous::float8, NULL, NULL, 'skipped', 'missed', NULL, v_instance, 1), p_history_limit);
      END IF;
    END LOOP;
  END IF;

  IF v_job.paused THEN
    -- Consumed without running; a paused job's last slot ends it.
    UPDATE ${s}.jobs SET last_seen_at = p_now, last_slot = v_slot, next_run_at = v_next, completed = v_last
      WHERE key = v_key AND (last_slot IS NULL OR last_slot < v_slot);
    RETURN '{"status":"paused"}';
  END IF;

  IF v_skip IN ('excluded', 'rate-limited') THEN
    -- Consumed without running and without counting toward the limit.
    UPDATE ${s}.jobs SET last_seen_at = p_now, last_slot = v_slot, next_run_at = v_next, completed = v_last,
      skipped_count = skipped_count + 1
      WHERE key = v_key AND (last_slot IS NULL OR last_slot < v_slot);
    PERFORM ${s}.push_history(v_key, ${s}.history_entry(v_run_id, v_run_id, 'slot', v_slot, NULL, NULL, 'skipped',
      v_skip, NULL, v_instance, 1), p_history_limit);
    RETURN '{"status":"skipped"}';
  END IF;

  -- Counts the slot toward the limit; the job is completed at its end.
  v_count := v_job.slot_count + 1;
  v_ended := v_last OR (v_job.run_limit IS NOT NULL AND v_count >= v_job.run_limit);

  IF v_job.active_exclusive > 0 AND v_overlap <> 'allow' THEN
    -- queue (misfire catch-up) waits like buffer-one, without the limit of one.
    IF v_overlap = 'queue' OR (v_overlap = 'buffer-one' AND NOT EXISTS (
      SELECT 1 FROM ${s}.runs rr WHERE rr.job_key = v_key AND rr.state = 'pending' AND rr.exclusive
        AND rr.kind = 'slot' AND rr.attempt = 1)) THEN
      -- The buffered slot counts toward the limit now, so no later slot can
      -- be claimed past it while this one waits.
      UPDATE ${s}.jobs SET last_seen_at = p_now, last_slot = v_slot, next_run_at = v_next, slot_count = v_count,
        completed = v_ended
        WHERE key = v_key AND (last_slot IS NULL OR last_slot < v_slot);
      -- Held: it waits for the active exclusive run (promote lets it in).
      INSERT INTO ${s}.runs (job_key, id, kind, state, scheduled_at, due_at, seq, attempt, exclusive, requeue_on_stall,
        max_attempts, run_id, held)
      VALUES (v_key, v_run_id, 'slot', 'pending', v_slot, v_slot, nextval('${s}.pending_seq'), 1, true, v_requeue,
        v_max_attempts, v_run_id, true);
      RETURN jsonb_build_object('status', 'buffered', 'run', jsonb_build_object('id', v_run_id, 'key', v_key,
        'kind', 'slot', 'state', 'pending', 'scheduledAt', v_slot, 'dueAt', v_slot, 'attempt', 1, 'outcome', NULL));
    END IF;
    UPDATE ${s}.jobs SET last_seen_at = p_now, last_slot = v_slot, next_run_at = v_next, completed = v_last,
      skipped_count = skipped_count + 1
      WHERE key = v_key AND (last_slot IS NULL OR last_slot < v_slot);
    PERFORM ${s}.push_history(v_key, ${s}.history_entry(v_run_id, v_run_id, 'slot', v_slot, NULL, NULL, 'skipped',
      'overlap', NULL, v_instance, 1), p_history_limit);
    RETURN '{"status":"skipped"}';
  END IF;

  -- Only a run that starts takes room; a limited claim leaves the slot
  -- unconsumed for the next try (missed slots recorded above stay recorded).
  IF v_job.rate_key IS NOT NULL THEN
    v_wait := ${s}.take_rate(v_job.rate_key, v_job.rate_max, v_job.rate_per, p_now, v_run_id);
    IF v_wait > 0 THEN
      UPDATE ${s}.jobs SET last_slot = v_job.last_slot WHERE key = v_key;
      RETURN jsonb_build_object('status', 'limited', 'retryInMs', v_wait);
    END IF;
  END IF;

  v_exclusive := v_overlap <> 'allow';
  UPDATE ${s}.jobs SET last_seen_at = p_now, last_slot = v_slot, next_run_at = v_next, slot_count = v_count,
    completed = v_ended, fence = fence + 1, active = active + 1,
    active_exclusive = active_exclusive + CASE WHEN v_exclusive THEN 1 ELSE 0 END
    WHERE key = v_key AND (last_slot IS NULL OR last_slot < v_slot)
    RETURNING fence INTO v_fence;
  IF NOT FOUND THEN RETURN '{"status":"taken"}'; END IF;
  INSERT INTO ${s}.runs (job_key, id, kind, state, scheduled_at, due_at, attempt, exclusive, requeue_on_stall,
    max_attempts, run_id, instance_id, fence, claimed_at, lease_until)
  VALUES (v_key, v_run_id, 'slot', 'active', v_slot, v_slot, 1, v_exclusive, v_requeue, v_max_attempts, v_run_id,
    v_instance, v_fence, p_now, p_now + (p_claim->>'leaseMs')::float8);
  RETURN jsonb_build_object('status', 'claimed', 'run', jsonb_build_object('runId', v_run_id, 'id', v_run_id,
    'key', v_key, 'kind', 'slot', 'scheduledAt', v_slot, 'attempt', 1, 'params', NULL, 'exclusive', v_exclusive,
    'fencingToken', v_fence, 'claimedAt', p_now));
END
$fn$;

CREATE FUNCTION ${s}.claim_slots(p_claims jsonb, p_history_limit integer) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now float8 := ${s}.now_ms();
  v_claim jsonb;
  -- Appended in place (an expanded array), not copied per element as a jsonb value would be.
  v_out jsonb[] := '{}';
BEGIN
  PERFORM ${s}.lock_jobs(ARRAY(SELECT e->>'key' FROM jsonb_array_elements(p_claims) e));
  FOR v_claim IN SELECT e FROM jsonb_array_elements(p_claims) WITH ORDINALITY AS t(e, n) ORDER BY n LOOP
    v_out := array_append(v_out, ${s}.claim_slot(v_claim, v_now, p_history_limit));
  END LOOP;
  RETURN to_jsonb(v_out);
END
$fn$;
`;
}
