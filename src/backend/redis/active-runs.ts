import type { ActiveRunRef, HeartbeatReply, RunFinish, StalledRun } from '../backend.js';
import type { RedisClient } from '../../redis/connection.js';
import { RedisKeys, isValidJobKey, isValidRunId } from './keys.js';
import { encodeRunFinish, encodeRunRefs, numArg, type stalledTextParts } from './script-args.js';
import { unexpectedReply } from './script-errors.js';
import { decodeStalledRuns } from './script-replies.js';
import { array, num, optText, type ScriptArg } from './scripts.js';

/**
 * The calls of `RedisBackend` on runs an instance has claimed: refresh their
 * leases, record their outcomes, give them back, reap those whose instance
 * died. Each is one script (heartbeat, finish-runs, release-claims,
 * reap-stalled.lua); the ones that may meet many runs loop over bounded calls.
 */

/** Most runs one reap call reaps (also one removeJob call deletes, one resume call unparks). */
export const RUN_BATCH = 1_000;
/** Active runs one releaseClaims call reads. */
const RELEASE_SCAN = 2_000;

/** Extends the leases of `runs`: true (still held), false (reaped or removed), `cancel` (held, and `cancelRun` asked to abort it). */
export async function heartbeat(client: RedisClient, keys: RedisKeys, runs: readonly ActiveRunRef[], leaseMs: number): Promise<HeartbeatReply[]> {
  const lease = numArg('heartbeat', 'leaseMs', leaseMs);
  const out: HeartbeatReply[] = runs.map(() => false);
  const { args, positions } = encodeRunRefs(runs);
  if (positions.length === 0) return out;
  const reply = array(await client.schedkitHeartbeat(keys.active, keys.ns, lease, ...args), 'heartbeat');
  positions.forEach((position, j) => {
    const answer = Number(reply[j]);
    out[position] = answer === 2 ? 'cancel' : answer === 1;
  });
  return out;
}

/** Records the outcomes in one call; true for each one recorded. */
export async function finishRuns(client: RedisClient, keys: RedisKeys, historyLimit: number, finishes: readonly RunFinish[]): Promise<boolean[]> {
  const script = 'finish-runs';
  // A run that cannot be stored cannot be active: answered here, not sent.
  const sendable = (finish: RunFinish): boolean => isValidJobKey(finish.key) && isValidRunId(finish.id);
  const args: ScriptArg[] = [keys.pending, keys.active, keys.done, keys.ns, historyLimit];
  let sent = 0;
  for (const finish of finishes) {
    if (!sendable(finish)) continue;
    sent++;
    args.push(...encodeRunFinish(finish));
  }
  const replies = sent === 0 ? [] : array(await client.schedkitFinishRuns(...args), script);
  if (replies.length !== sent) throw unexpectedReply(script, `${replies.length} replies for ${sent} runs`);
  let next = 0;
  return finishes.map((finish) => sendable(finish) && Number(replies[next++]) === 1);
}

/** Gives back the runs `instanceId` claimed and has not started; how many were given back. */
export async function releaseClaims(client: RedisClient, keys: RedisKeys, instanceId: string, runIds: readonly string[]): Promise<number> {
  const script = 'release-claims';
  // The active set is read a chunk per call, in lease order (release-claims.lua).
  let released = 0;
  let cursor = '-inf';
  do {
    const reply = array(
      await client.schedkitReleaseClaims(keys.active, keys.pending, keys.ns, String(instanceId), cursor, RELEASE_SCAN, ...runIds.map(String)),
      script,
    );
    released += num(reply[0], script);
    cursor = optText(reply[1]) ?? '';
  } while (cursor !== '');
  return released;
}

/** Reaps runs whose lease ran out, a bounded number per call, until a call reaps fewer. */
export async function reapStalledRuns(
  client: RedisClient,
  keys: RedisKeys,
  historyLimit: number,
  stalledText: ReturnType<typeof stalledTextParts>,
): Promise<StalledRun[]> {
  const script = 'reap-stalled';
  const [before, between, after] = stalledText;
  const out: StalledRun[] = [];
  for (;;) {
    const reply = array(
      await client.schedkitReapStalled(keys.active, keys.pending, keys.done, keys.heard, keys.ns, historyLimit, before, between, after, RUN_BATCH),
      script,
    );
    out.push(...decodeStalledRuns(reply, script));
    if (reply[0] !== '1') return out;
  }
}
