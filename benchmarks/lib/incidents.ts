/**
 * What a benchmark or soak process counts besides its runs, so a result
 * cannot look clean while the scheduler complained: errors and warnings it
 * logged (e.g. "could not record run outcome"), outages (`backend:down`),
 * reruns (`run:retry`, `run:stalled`), skipped slots (`run:skipped`) and
 * slots the misfire policy dropped (the "missed slots" log line: no event
 * carries it).
 */
import { NoopLogger, type LogFields, type Logger, type Scheduler } from 'schedkit';

/** A slot-dropping decision of the misfire policy, as logged ("missed slots"). */
export interface MisfireDrop {
  job: string;
  /** When it was logged (epoch ms). */
  at: number;
  missed: number;
  dropped: number;
  misfire: string;
  /** The dropped slots are exactly the slots s with `after < s < before` (epoch ms; the scheduler logs them). */
  after: number;
  before: number;
}

export interface IncidentSink {
  /** `error: <message>` / `warn: <message>` / an event name, once per occurrence. */
  count(name: string): void;
  /** A misfire decision that dropped slots (called only when `dropped > 0`). */
  dropped?(drop: MisfireDrop): void;
  /** A slot skipped by the overlap policy (or a paused job). */
  skipped?(job: string, slot: number, reason: string): void;
}

/** Passes every line to `inner` and reports errors, warnings and misfire drops to `sink`. */
export class IncidentLogger implements Logger {
  constructor(
    private readonly sink: IncidentSink,
    private readonly inner: Logger = new NoopLogger(),
    private readonly fields: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.inner.debug(message, fields);
  }

  info(message: string, fields?: LogFields): void {
    if (message === 'missed slots') {
      const all = { ...this.fields, ...fields };
      const dropped = Number(all.dropped ?? 0);
      if (dropped > 0) {
        this.sink.dropped?.({
          job: String(all.job),
          at: Date.now(),
          missed: Number(all.missed ?? 0),
          dropped,
          misfire: String(all.misfire),
          after: Date.parse(String(all.droppedAfter)),
          before: Date.parse(String(all.droppedBefore)),
        });
      }
    }
    this.inner.info(message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.sink.count(`warn: ${message}`);
    this.inner.warn(message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.sink.count(`error: ${message}`);
    this.inner.error(message, fields);
  }

  child(fields: LogFields): Logger {
    return new IncidentLogger(this.sink, this.inner.child(fields), { ...this.fields, ...fields });
  }
}

/** Counts the scheduler's failure-side events into `sink`: failures by outcome, retries, stalls, lost locks, outages, skips. */
export function countIncidentEvents(scheduler: Scheduler, sink: IncidentSink): void {
  scheduler.on('run:failure', (e) => sink.count(`run:failure ${e.outcome}`));
  scheduler.on('run:retry', () => sink.count('run:retry'));
  scheduler.on('run:stalled', () => sink.count('run:stalled'));
  scheduler.on('lock:lost', () => sink.count('lock:lost'));
  scheduler.on('backend:down', () => sink.count('backend:down'));
  scheduler.on('run:skipped', (e) => {
    sink.count(`run:skipped ${e.reason}`);
    sink.skipped?.(e.name, e.scheduledAt.getTime(), e.reason);
  });
}

/** Incident names that make a run's result suspect (not mere skips or warnings). */
export function isIncident(name: string): boolean {
  return name.startsWith('error:') || name === 'backend:down' || name === 'run:stalled' || name === 'run:retry' || name === 'lock:lost' || name.startsWith('run:failure');
}
