import type { Clock, TimerHandle } from '../clock/clock.js';
import { MinHeap } from '../collections/min-heap.js';

/** A timer is never armed for longer than this; on wake the queue is re-checked. */
export const MAX_TIMER_ARM_MS = 30_000;
/** Entries handled in one wake before yielding to the event loop. */
const MAX_PER_WAKE = 50_000;

/**
 * Due times of every job in one min-heap, with one timer armed for the
 * earliest. On wake it hands every entry that is due to `onDue`, in time
 * order. Cost per wake is proportional to what is due, never to the number
 * of jobs, and an idle scheduler with a million jobs wakes once in 30 s.
 *
 * The timer is never armed for longer than 30 s because a suspended machine
 * (laptop lid, paused VM) can resume with timers that have drifted; each wake
 * re-reads the clock.
 */
interface DueEntry<T> {
  dueAt: number;
  /** Insertion order: entries due at the same instant come out first-in first-out. */
  seq: number;
  value: T;
}

export class DueQueue<T> {
  private readonly heap = new MinHeap<DueEntry<T>>();
  private seq = 0;
  private timer: TimerHandle | undefined;
  private armedFor = Infinity;
  private running = false;
  private waking = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (value: T, at: number) => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  push(at: number, value: T): void {
    this.heap.push({ dueAt: at, seq: this.seq++, value });
    // During a wake the timer is re-armed once at the end, not per push.
    if (this.running && !this.waking && at < this.armedFor) this.arm();
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  /** Stops the timer; entries stay queued. */
  stop(): void {
    this.running = false;
    this.disarm();
  }

  clear(): void {
    this.heap.clear();
    if (this.running) this.arm();
  }

  private arm(): void {
    this.disarm();
    const next = this.heap.peek()?.dueAt;
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.clock.now()), MAX_TIMER_ARM_MS);
    this.armedFor = this.clock.now() + delay;
    this.timer = this.clock.setTimeout(() => this.wake(), delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private wake(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    if (!this.running) return;
    const now = this.clock.now();
    this.waking = true;
    try {
      for (let handled = 0; handled < MAX_PER_WAKE; handled++) {
        const at = this.heap.peek()?.dueAt;
        if (at === undefined || at > now) break;
        const entry = this.heap.pop()!;
        this.onDue(entry.value, entry.dueAt);
        if (!this.running) return;
      }
    } finally {
      this.waking = false;
    }
    this.arm();
  }
}
