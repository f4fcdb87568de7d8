import { show } from '../../errors/messages.js';
import type { ClaimedRun, DueRunsClaimed, RunOutcome, RunState, SlotClaim, SlotClaimResult, StalledRun, StoredRun } from '../backend.js';
import { isScriptCode, scriptError, unexpectedReply } from './script-errors.js';
import { array, decodeClaimed, decodeJob, decodeSummary, num, optNum, optText, text } from './scripts.js';

/**
 * Decoders of whole replies of the backend's multi-part scripts. `scripts.ts`
 * holds the value-level decoders (text, numbers, a job hash, a claimed run)
 * that these assemble; these say what one script's reply means as a result.
 */

/** A claim-due-runs reply: the claim, and where the caller's next claim starts reading. */
export function decodeDueRuns(reply: unknown): { claimed: DueRunsClaimed; cursor: string } {
  const script = 'claim-due-runs';
  if (isScriptCode(reply)) throw scriptError(reply, { script });
  const values = array(reply, script);
  const runs: ClaimedRun[] = [];
  for (let i = 2; i + 9 < values.length; i += 10) runs.push(decodeClaimed(values, i, script));
  return { claimed: { runs, nextDueAt: optNum(values[0], script) }, cursor: optText(values[1]) ?? '' };
}

/** One `claim-slots` reply entry: which of the claim outcomes happened, with its payload. */
export function decodeSlotClaim(claim: SlotClaim, reply: unknown[], script: string): SlotClaimResult {
  const status = text(reply[0], script);
  switch (status) {
    case 'claimed':
      return { status, run: decodeClaimed([reply[1], reply[2], claim.key, ...reply.slice(3)], 0, script) };
    case 'buffered':
      return { status, run: decodeSummary(claim.key, reply, 1, script) };
    case 'superseded': {
      const stored = decodeJob(claim.key, reply[1], script);
      if (stored === null) throw unexpectedReply(script, 'superseded without state');
      return { status, stored };
    }
    case 'early':
    case 'limited':
      return { status, retryInMs: num(reply[1], script) };
    case 'taken':
    case 'skipped':
    case 'paused':
    case 'completed':
    case 'removed':
      return { status };
    default:
      throw unexpectedReply(script, `unknown status ${show(status)}`);
  }
}

/** The runs one reap-stalled.lua reply lists (seven values each, after the "more" flag). */
export function decodeStalledRuns(reply: readonly unknown[], script: string): StalledRun[] {
  const out: StalledRun[] = [];
  for (let i = 1; i + 6 < reply.length; i += 7) {
    out.push({
      key: text(reply[i], script),
      id: text(reply[i + 1], script),
      kind: text(reply[i + 2], script) as StalledRun['kind'],
      scheduledAt: num(reply[i + 3], script),
      attempt: num(reply[i + 4], script),
      instanceId: text(reply[i + 5], script),
      requeued: reply[i + 6] === '1',
    });
  }
  return out;
}

/** Values per run in a `run_reply` (common.lua). */
export const RUN_REPLY_LENGTH = 15;

/** A run as common.lua `run_reply` answers it, from the 15 values starting at `at`. */
export function decodeStoredRun(values: readonly unknown[], at: number, script: string): StoredRun {
  const stored = text(values[at + 6], script);
  const attempt = num(values[at + 9], script);
  const cancel = optText(values[at + 14]) ?? '';
  return {
    id: text(values[at], script),
    key: text(values[at + 1], script),
    name: text(values[at + 2], script),
    tenantId: values[at + 3] === '1' ? text(values[at + 4], script) : undefined,
    kind: text(values[at + 5], script) as StoredRun['kind'],
    state: runState(stored, attempt),
    scheduledAt: num(values[at + 7], script),
    dueAt: num(values[at + 8], script),
    attempt,
    outcome: (optText(values[at + 10]) || null) as RunOutcome | null,
    instanceId: stored === 'active' ? optText(values[at + 11]) || null : null,
    params: values[at + 12] === '1' ? text(values[at + 13], script) : undefined,
    cancelRequested: cancel !== '',
  };
}

/** The stored state of a run as `RunState`: a pending run past its first attempt is `retrying`. */
function runState(stored: string, attempt: number): RunState {
  if (stored === 'active') return 'running';
  if (stored === 'pending') return attempt > 1 ? 'retrying' : 'pending';
  return 'done';
}
