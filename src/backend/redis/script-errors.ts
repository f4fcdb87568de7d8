import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';

/**
 * The codes Lua scripts return instead of a result (a bare negative integer
 * reply), mapped to errors here and nowhere else.
 */
export const ScriptCode = {
  /** enqueue-run: the job has no stored state (never registered, or removed). */
  JobNotFound: -1,
  /** claim-due-runs: the caller's key filter set is gone (expired, data lost); resend it in full. Handled internally. */
  FilterMissing: -2,
  /** enqueue-run: the id names a stored one-off run of another job of the tenant. */
  TriggerIdTaken: -3,
} as const;

export type ScriptCode = (typeof ScriptCode)[keyof typeof ScriptCode];

/** True when a script replied with an error code rather than a result. */
export function isScriptCode(reply: unknown): reply is number {
  return typeof reply === 'number' && reply < 0;
}

/** What the failing call was about, for the error message and details. */
export interface ScriptErrorContext {
  script: string;
  key?: string;
  /** The run id the call named. */
  id?: string;
}

/** The `SchedkitError` for a script's error code. */
export function scriptError(code: number, context: ScriptErrorContext): Error {
  switch (code) {
    case ScriptCode.JobNotFound:
      return new SchedkitError(ErrorCode.JobNotFound, messages.backendJobNotFound(context.key ?? ''), {
        details: { key: context.key },
      });
    case ScriptCode.TriggerIdTaken:
      return new SchedkitError(ErrorCode.InvalidArgument, messages.backendTriggerIdTaken(context.key ?? '', context.id ?? ''), {
        details: { field: 'id', key: context.key, id: context.id },
      });
    default:
      return unexpectedReply(context.script, `error code ${code}`);
  }
}

/**
 * A reply that does not have the shape the script promises: a bug, or keys
 * of the namespace written by something else. Deliberately not a
 * `SchedkitError`: the scheduler logs it as a failed call (not an outage).
 */
export function unexpectedReply(script: string, why: string): Error {
  return new Error(messages.redisUnexpectedReply(script, why));
}
