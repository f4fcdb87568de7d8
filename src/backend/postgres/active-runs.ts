import type { Pool } from 'pg';
import type { ActiveRunRef, HeartbeatReply, RunFinish, StalledRun } from '../backend.js';
import type { stalledTextParts } from '../stalled-text.js';
import { finite } from './arguments.js';
import { list, toStalledRun, unexpectedAnswer } from './records.js';

/**
 * The calls of `PostgresBackend` on runs an instance has claimed: refresh
 * their leases, record their outcomes, give them back, reap those whose
 * instance died. Each is one function call, one round trip, however many
 * runs (heartbeat, finish_runs, release_claims, reap_stalled).
 */

/** Extends the leases of `runs`: true (still held), false (reaped or removed), `cancel` (held, and `cancelRun` asked to abort it). */
export async function heartbeat(pool: Pool, s: string, runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]> {
  const lease = finite('heartbeat', 'leaseMs', leaseMs);
  const out: HeartbeatReply[] = runs.map(() => false);
  // A reference without a finite token cannot name an active run.
  const sent = runs.flatMap((ref, position) => (Number.isFinite(ref.fencingToken) ? [{ ref, position }] : []));
  if (sent.length === 0) return out;
  const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.heartbeat($1::text[], $2::text[], $3::float8[], $4) AS result`, [
    sent.map(({ ref }) => String(ref.key)),
    sent.map(({ ref }) => String(ref.id)),
    sent.map(({ ref }) => ref.fencingToken),
    lease,
  ]);
  const replies = list(rows[0]?.result, 'heartbeat');
  if (replies.length !== sent.length) throw unexpectedAnswer('heartbeat', `${replies.length} answers for ${sent.length} runs`);
  sent.forEach(({ position }, i) => {
    const reply = replies[i];
    out[position] = reply === 'cancel' ? 'cancel' : reply === true;
  });
  return out;
}

/** Records the outcomes in one call; true for each one recorded. */
export async function finishRuns(pool: Pool, s: string, historyLimit: number, finishes: readonly RunFinish[]): Promise<boolean[]> {
  if (finishes.length === 0) return [];
  const encoded = finishes.map((finish) => ({
    key: String(finish.key),
    id: String(finish.id),
    fencingToken: finite('finishRun', 'fencingToken', finish.fencingToken),
    instanceId: String(finish.instanceId),
    outcome: finish.outcome,
    error: storableText(finish.error ?? null),
    durationMs: finite('finishRun', 'durationMs', finish.durationMs),
    endedMsAgo: finite('finishRun', 'endedMsAgo', finish.endedMsAgo ?? 0),
    retryInMs: finish.retryInMs === undefined ? null : finite('finishRun', 'retryInMs', finish.retryInMs),
    requeueInMs: finish.requeueInMs === undefined ? null : finite('finishRun', 'requeueInMs', finish.requeueInMs),
  }));
  const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.finish_runs($1::jsonb, $2) AS result`, [JSON.stringify(encoded), historyLimit]);
  const replies = list(rows[0]?.result, 'finish_runs');
  if (replies.length !== finishes.length) throw unexpectedAnswer('finish_runs', `${replies.length} answers for ${finishes.length} runs`);
  return replies.map((reply) => reply === true);
}

/**
 * PostgreSQL text cannot hold NUL (U+0000) and jsonb refuses `\u0000`: an
 * error text with one would fail `finish_runs` on every try, and the run,
 * never recorded, would be reaped as stalled and run again. It is stored with
 * U+FFFD (the replacement character) in its place.
 */
function storableText(text: string | null): string | null {
  return text === null ? null : text.replaceAll('\u0000', '\uFFFD');
}

/** Gives back the runs `instanceId` claimed under these attempt ids and has not started; how many were given back. */
export async function releaseClaims(pool: Pool, s: string, instanceId: string, runIds: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ released: number }>(`SELECT ${s}.release_claims($1, $2::text[]) AS released`, [
    String(instanceId),
    runIds.map(String),
  ]);
  return Number(rows[0]?.released ?? 0);
}

/** Reaps every run whose lease ran out (unless the outage rule holds the reaper back). */
export async function reapStalledRuns(
  pool: Pool,
  s: string,
  historyLimit: number,
  stalledText: ReturnType<typeof stalledTextParts>,
): Promise<StalledRun[]> {
  const [before, between, after] = stalledText;
  const { rows } = await pool.query<{ result: unknown }>(`SELECT ${s}.reap_stalled($1, $2, $3, $4) AS result`, [historyLimit, before, between, after]);
  return list(rows[0]?.result, 'reap_stalled').map((run) => toStalledRun(run, 'reap_stalled'));
}
