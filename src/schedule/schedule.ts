/**
 * A schedule is a pure function of time: given an instant it names the next
 * slot. Every instance computes the same slots from the same definition, which
 * is what lets the backend deduplicate claims by (job, slot).
 */
export interface Schedule {
  /** The first slot strictly after `after`, or null when there is none (ended, limit of a once schedule). */
  next(after: Date): Date | null;
  /** The last slot at or before `atOrBefore`, or null when there is none. Used for misfire catch-up. */
  prev(atOrBefore: Date): Date | null;
  /** Serialisable description, stored in the backend and shown by `getJob`. */
  readonly descriptor: ScheduleDescriptor;
}

/** How a schedule is stored and shown: plain JSON, enough to rebuild it. */
export type ScheduleDescriptor =
  | { kind: 'cron'; cron: string; tz?: string; startAt?: string; endAt?: string }
  | { kind: 'interval'; everyMs: number; anchor: string; startAt?: string; endAt?: string }
  | { kind: 'once'; at: string };

/** Options every schedule kind accepts. */
export interface ScheduleWindow {
  /** No slot before this instant. For intervals it is also the anchor of the slots. */
  startAt?: Date | string;
  /** No slot after this instant. */
  endAt?: Date | string;
  /** Maximum number of runs (slots claimed) over the job's life; then the job is `completed`. */
  limit?: number;
}

/** A cron schedule as an object: the expression, its time zone and an optional window. */
export interface CronScheduleSpec extends ScheduleWindow {
  /** 5 fields (minute first) or 6 (seconds first), or an alias such as `@hourly`. */
  cron: string;
  /** IANA time zone; default: UTC. */
  tz?: string;
}

/** An interval schedule as an object: every `every`, within an optional window whose `startAt` also anchors the slots. */
export interface IntervalScheduleSpec extends ScheduleWindow {
  /** Milliseconds, or a duration such as `'15m'`, `'1h30m'`, `'500ms'`. */
  every: number | string;
}

/** A schedule that fires once, at `at`. */
export interface OnceScheduleSpec {
  /** The instant of the single run. */
  at: Date | string;
}

/**
 * What `register({ schedule })` accepts: a cron string, one of the spec
 * objects, or a `Schedule` built by hand.
 */
export type ScheduleInput = string | CronScheduleSpec | IntervalScheduleSpec | OnceScheduleSpec | Schedule;
