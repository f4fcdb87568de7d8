import { show } from '../../errors/messages.js';
import type { ClaimedRun, DueRunsClaimed, SlotClaim, SlotClaimResult, StalledRun } from '../backend.js';
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
