import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock/fake-clock.js';
import { DueQueue, MAX_TIMER_ARM_MS } from '../../../src/scheduler/due-queue.js';

describe('DueQueue', () => {
  it('fires entries in time order, ties in insertion order', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    const queue = new DueQueue<string>(clock, (value, at) => fired.push(`${value}@${at}`));
    queue.start();
    queue.push(300, 'c');
    queue.push(100, 'a');
    queue.push(100, 'b');
    await clock.advance(1_000);
    expect(fired).toEqual(['a@100', 'b@100', 'c@300']);
  });

  it('never arms its timer for more than 30 s, and re-checks the clock on each wake', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const queue = new DueQueue<number>(clock, (_v, at) => fired.push(at));
    queue.start();
    const yearAway = 365 * 86_400_000;
    queue.push(yearAway, 1);
    expect(clock.nextTimerAt()).toBe(MAX_TIMER_ARM_MS);
    await clock.advance(MAX_TIMER_ARM_MS);
    expect(fired).toEqual([]);
    expect(clock.nextTimerAt()).toBe(2 * MAX_TIMER_ARM_MS);
    // The machine was suspended past the due time: the next wake sees it.
    clock.set(yearAway + 5);
    await clock.runNext();
    expect(fired).toEqual([yearAway]);
  });

  it('re-arms earlier when an earlier entry is pushed, and keeps one timer', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const queue = new DueQueue<number>(clock, (_v, at) => fired.push(at));
    queue.start();
    for (let i = 0; i < 1_000; i++) queue.push(20_000 + i, i);
    queue.push(500, -1);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(500);
    await clock.advance(500);
    expect(fired).toEqual([500]);
  });

  it('handles only what is due on a wake, however many entries wait', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const queue = new DueQueue<number>(clock, () => calls++);
    queue.start();
    for (let i = 0; i < 100_000; i++) queue.push(10_000 + i, i);
    queue.push(5_000, -1);
    await clock.advance(5_000);
    expect(calls).toBe(1);
    expect(queue.size).toBe(100_000);
  });

  it('does nothing after stop', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const queue = new DueQueue<number>(clock, () => calls++);
    queue.start();
    queue.push(100, 1);
    queue.stop();
    await clock.advance(1_000);
    expect(calls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
