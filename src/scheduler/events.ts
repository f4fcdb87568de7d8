import type { Logger } from '../observability/logger.js';

/** Fields every run event carries. */
export interface RunEvent {
  name: string;
  tenantId: string | undefined;
  /** The run's stable id (a trigger's id, or the slot's first run id). */
  id: string;
  /** This attempt's id (uuid v7). */
  runId: string;
  kind: 'slot' | 'trigger';
  scheduledAt: Date;
  attempt: number;
  instanceId: string;
}

/** The scheduler's events and their payloads. */
export interface SchedulerEvents {
  'run:start': RunEvent & { latenessMs: number; fencingToken: number };
  'run:success': RunEvent & { durationMs: number };
  /** Any failed attempt (threw, rejected, timed out, lost its lock, interrupted). */
  'run:failure': RunEvent & { error: Error; durationMs: number; outcome: string; willRetry: boolean };
  'run:retry': RunEvent & { error: Error; retryAt: Date; nextAttempt: number };
  'run:timeout': RunEvent & { error: Error; durationMs: number };
  /**
   * A run was cancelled: `while: 'pending'` on the instance that cancelled a
   * pending or retrying run (`runId` null: no attempt started), `while:
   * 'running'` on the instance whose run was aborted by `cancel(id, { abort: true })`.
   */
  'run:cancelled': Omit<RunEvent, 'runId'> & { runId: string | null; while: 'pending' | 'running' };
  /**
   * A slot passed without a run: a run of the job was active (`overlap`), the
   * job is paused, the slot matches an exclusion (`excluded`), or the job's
   * rate limit had no room for it before its next slot was due (`rate-limited`).
   */
  'run:skipped': { name: string; tenantId: string | undefined; scheduledAt: Date; reason: 'overlap' | 'paused' | 'excluded' | 'rate-limited' };
  'run:stalled': { name: string; tenantId: string | undefined; id: string; kind: 'slot' | 'trigger'; scheduledAt: Date; attempt: number; instanceId: string; requeued: boolean };
  'lock:lost': RunEvent & { error: Error };
  'backend:down': { error: Error };
  'backend:up': { downForMs: number };
}

/** The name of a scheduler event (`run:success`, `run:failed`, `backend:down`, ...). */
export type SchedulerEventName = keyof SchedulerEvents;
/** A listener of the scheduler event `E`; it is called synchronously and its errors are logged, never thrown into the scheduler. */
export type SchedulerListener<E extends SchedulerEventName> = (payload: SchedulerEvents[E]) => void;

/**
 * A small typed emitter. A listener that throws is logged and does not stop
 * the scheduler or the other listeners.
 */
export class SchedulerEventEmitter {
  private readonly listeners = new Map<SchedulerEventName, Set<(payload: never) => void>>();

  constructor(private readonly logger: Logger) {}

  on<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  once<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  /** True when anyone listens, so callers can skip building a payload. */
  has(event: SchedulerEventName): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends SchedulerEventName>(event: E, payload: SchedulerEvents[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as SchedulerListener<E>)(payload);
      } catch (error) {
        this.logger.error('event listener threw', { event, err: error });
      }
    }
  }
}
