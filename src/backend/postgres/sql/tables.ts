/**
 * The tables of the PostgreSQL backend (migration 1 of track `backend`).
 * `s` is the checked, quoted schema name. Every instant and duration is epoch
 * ms in `float8` (exact for integers up to 2^53, read back as JS numbers);
 * keys and ids are `COLLATE "C"` so ordering is by bytes, as the other
 * backends order them, whatever the database's default collation.
 *
 * | table | holds |
 * |---|---|
 * | `jobs` | one row per job: definition, pause flag, dedup mark (`last_slot`), fence, counters, rate limit |
 * | `runs` | one row per run (slot or one-off) while pending, active, or done and kept (one-off and cancelled runs); `held`: a pending run out of the due index (see `held` in common.ts) |
 * | `trigger_ids` | which job holds a one-off run id in its tenant (`''` = no tenant); goes with its run |
 * | `history` | history entries as jsonb, per job, newest by `seq`, trimmed to the history limit |
 * | `rate_starts` | the sliding window of each rate key: when each run started under it |
 * | `instances` | live instances and until when |
 * | `heard` | one row: the last instance heartbeat, its ttl, and no reaping before `reap_after` (the outage rule) |
 */
export function tablesSql(s: string): string {
  return `
CREATE SEQUENCE ${s}.pending_seq;

CREATE TABLE ${s}.jobs (
  key text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  tenant text COLLATE "C",
  schedule jsonb,
  definition_hash text NOT NULL,
  defined_at float8 NOT NULL,
  run_limit float8,
  paused boolean NOT NULL DEFAULT false,
  completed boolean NOT NULL DEFAULT false,
  last_slot float8,
  slot_count bigint NOT NULL DEFAULT 0,
  fence bigint NOT NULL DEFAULT 0,
  next_run_at float8,
  last_run_at float8,
  last_duration_ms float8,
  last_error text,
  last_outcome text,
  run_count bigint NOT NULL DEFAULT 0,
  fail_count bigint NOT NULL DEFAULT 0,
  skipped_count bigint NOT NULL DEFAULT 0,
  active integer NOT NULL DEFAULT 0,
  active_exclusive integer NOT NULL DEFAULT 0,
  rate_key text COLLATE "C",
  rate_max float8,
  rate_per float8,
  history_count integer NOT NULL DEFAULT 0,
  created_at float8 NOT NULL,
  last_seen_at float8 NOT NULL
);
CREATE INDEX jobs_tenant ON ${s}.jobs ((coalesce(tenant, '')), key);
CREATE INDEX jobs_seen ON ${s}.jobs (last_seen_at);

CREATE TABLE ${s}.runs (
  job_key text COLLATE "C" NOT NULL REFERENCES ${s}.jobs (key) ON DELETE CASCADE,
  id text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  state text NOT NULL,
  scheduled_at float8 NOT NULL,
  due_at float8 NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 1,
  exclusive boolean NOT NULL,
  requeue_on_stall boolean NOT NULL,
  max_attempts integer NOT NULL,
  params text,
  run_id text NOT NULL,
  instance_id text,
  fence bigint NOT NULL DEFAULT 0,
  claimed_at float8,
  lease_until float8,
  finished_at float8,
  outcome text,
  cancel_requested text,
  held boolean NOT NULL DEFAULT false,
  PRIMARY KEY (job_key, id)
);
CREATE INDEX runs_due ON ${s}.runs (due_at, seq) WHERE state = 'pending' AND NOT held;
CREATE INDEX runs_job_pending ON ${s}.runs (job_key, due_at, seq) WHERE state = 'pending';
CREATE INDEX runs_lease ON ${s}.runs (lease_until) WHERE state = 'active';
CREATE INDEX runs_claimer ON ${s}.runs (instance_id, run_id) WHERE state = 'active';
CREATE INDEX runs_done ON ${s}.runs (finished_at) WHERE state = 'done';

CREATE TABLE ${s}.trigger_ids (
  tenant text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  job_key text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (job_key, id) REFERENCES ${s}.runs (job_key, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX trigger_ids_run ON ${s}.trigger_ids (job_key, id);

CREATE TABLE ${s}.history (
  job_key text COLLATE "C" NOT NULL REFERENCES ${s}.jobs (key) ON DELETE CASCADE,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  entry jsonb NOT NULL,
  PRIMARY KEY (job_key, seq)
);

CREATE TABLE ${s}.rate_starts (
  rate_key text COLLATE "C" NOT NULL,
  started_at float8 NOT NULL,
  run_id text NOT NULL
);
CREATE INDEX rate_starts_key ON ${s}.rate_starts (rate_key, started_at);

CREATE TABLE ${s}.instances (
  id text COLLATE "C" PRIMARY KEY,
  alive_until float8 NOT NULL
);

CREATE TABLE ${s}.heard (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  heard_at float8 NOT NULL,
  ttl float8 NOT NULL,
  reap_after float8 NOT NULL DEFAULT '-Infinity'
);
`;
}
