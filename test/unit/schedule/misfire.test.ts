import { describe, expect, it } from 'vitest';
import { cronSchedule } from '../../../src/schedule/cron-schedule.js';
import { intervalSchedule } from '../../../src/schedule/interval-schedule.js';
import { MAX_MISSED_COUNT, MAX_ON_TIME, planSlots, type SlotPlanInput } from '../../../src/schedule/misfire.js';
import { onceSchedule } from '../../../src/schedule/once-schedule.js';
import type { Schedule } from '../../../src/schedule/schedule.js';

const T = Date.parse('2026-01-07T10:00:00Z');
const MIN = 60_000;
const everyMinute = intervalSchedule('1m');

function plan(overrides: Partial<SlotPlanInput>) {
  return planSlots({ schedule: everyMinute, after: T - MIN, now: T + 100, policy: 'run-once', maxCatchUp: 10, graceMs: 5_000, ...overrides });
}

/** The same slots as `s`, without the countSlots shortcut: forces the walking count. */
function plain(s: Schedule): Schedule {
  return { next: (d) => s.next(d), prev: (d) => s.prev(d), descriptor: s.descriptor };
}

describe('planSlots: on time', () => {
  it('runs the slot that just came due, and names the next one', () => {
    expect(plan({})).toEqual({ dueNow: [T], missed: 0, dropped: 0, droppedBefore: null, next: T + MIN });
  });

  it('runs nothing when no slot is due', () => {
    expect(plan({ after: T, now: T + 30_000 })).toEqual({ dueNow: [], missed: 0, dropped: 0, droppedBefore: null, next: T + MIN });
  });

  it('a slot exactly at now - graceMs is on time; 1 ms older is missed', () => {
    expect(plan({ now: T + 5_000, policy: 'skip' })).toEqual({ dueNow: [T], missed: 0, dropped: 0, droppedBefore: null, next: T + MIN });
    expect(plan({ now: T + 5_001, policy: 'skip' })).toEqual({ dueNow: [], missed: 1, dropped: 1, droppedBefore: T + 1, next: T + MIN });
  });

  it('a slot exactly at now is due; after is exclusive', () => {
    expect(plan({ now: T }).dueNow).toEqual([T]);
    expect(plan({ after: T, now: T }).dueNow).toEqual([]);
  });

  it('never returns a slot at or before after, even when after is ahead of now', () => {
    expect(plan({ after: T + 3 * MIN, now: T + 100 })).toEqual({ dueNow: [], missed: 0, dropped: 0, droppedBefore: null, next: T + 4 * MIN });
  });
});

describe('planSlots: policies after 10 missed slots', () => {
  // Slots T-10m .. T-1m are missed (older than 5 s), T is on time.
  const base = { after: T - 11 * MIN, now: T + 100 };

  it('skip runs none of them', () => {
    expect(plan({ ...base, policy: 'skip' })).toEqual({ dueNow: [T], missed: 10, dropped: 10, droppedBefore: T - 4_900, next: T + MIN });
  });

  it('run-once runs only the newest missed slot', () => {
    expect(plan({ ...base, policy: 'run-once' })).toEqual({ dueNow: [T - MIN, T], missed: 10, dropped: 9, droppedBefore: T - MIN, next: T + MIN });
  });

  it('run-all runs the newest maxCatchUp of them, ascending', () => {
    expect(plan({ ...base, policy: 'run-all', maxCatchUp: 3 })).toEqual({ dueNow: [T - 3 * MIN, T - 2 * MIN, T - MIN, T], missed: 10, dropped: 7, droppedBefore: T - 3 * MIN, next: T + MIN });
  });

  it('run-all runs all of them when there are fewer than maxCatchUp', () => {
    const result = plan({ ...base, policy: 'run-all', maxCatchUp: 100 });
    expect(result.dueNow).toEqual(Array.from({ length: 11 }, (_, i) => T - (10 - i) * MIN));
    expect(result).toMatchObject({ missed: 10, dropped: 0, droppedBefore: null });
  });

  it('run-all with maxCatchUp 0 runs none', () => {
    expect(plan({ ...base, policy: 'run-all', maxCatchUp: 0 })).toMatchObject({ dueNow: [T], missed: 10, dropped: 10 });
  });

  it('counts the same by walking (any Schedule) and by computing (intervals)', () => {
    for (const policy of ['skip', 'run-once', 'run-all'] as const) {
      expect(plan({ ...base, policy, maxCatchUp: 3, schedule: plain(everyMinute) })).toEqual(plan({ ...base, policy, maxCatchUp: 3 }));
    }
  });
});

describe('planSlots: a huge gap', () => {
  const week = 7 * 86_400_000;

  it('a per-second interval job after a week offline plans fast and exactly', () => {
    const started = performance.now();
    const result = planSlots({ schedule: intervalSchedule('1s'), after: T - week, now: T + 100, policy: 'run-all', maxCatchUp: 5, graceMs: 5_000 });
    expect(performance.now() - started).toBeLessThan(100);
    // now - grace = T - 4.9 s. On time: T-4s .. T. Missed: T-week+1s .. T-5s, more than the cap;
    // run-all keeps the newest 5 of them.
    expect(result.dueNow).toEqual([T - 9_000, T - 8_000, T - 7_000, T - 6_000, T - 5_000, T - 4_000, T - 3_000, T - 2_000, T - 1_000, T]);
    expect(result.missed).toBe(MAX_MISSED_COUNT);
    expect(result.dropped).toBe(MAX_MISSED_COUNT - 5);
    expect(result.next).toBe(T + 1_000);
  });

  it('a per-second cron job after a week offline: bounded walk, same answer', () => {
    const started = performance.now();
    const result = planSlots({ schedule: cronSchedule('* * * * * *', { tz: 'Europe/Berlin' }), after: T - week, now: T + 100, policy: 'run-once', maxCatchUp: 5, graceMs: 5_000 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.dueNow).toEqual([T - 5_000, T - 4_000, T - 3_000, T - 2_000, T - 1_000, T]);
    expect(result.missed).toBe(MAX_MISSED_COUNT);
    expect(result.next).toBe(T + 1_000);
  });

  it('counts exactly below the cap', () => {
    const result = planSlots({ schedule: cronSchedule('0 * * * *'), after: T - week, now: T + 100, policy: 'skip', maxCatchUp: 5, graceMs: 5_000 });
    // Hourly slots in (T - 7d, T - 5s): 7 * 24 - 1 of them; T itself is on time.
    expect(result).toEqual({ dueNow: [T], missed: 167, dropped: 167, droppedBefore: T - 4_900, next: T + 3_600_000 });
  });

  it('caps the on-time slots of a sub-second job with a long grace period', () => {
    const result = planSlots({ schedule: intervalSchedule('10ms'), after: T - 3_600_000, now: T, policy: 'skip', maxCatchUp: 0, graceMs: 3_600_000 });
    expect(result.dueNow).toHaveLength(MAX_ON_TIME);
    expect(result.dueNow[MAX_ON_TIME - 1]).toBe(T);
    expect(result.missed).toBe(MAX_MISSED_COUNT); // the older on-time slots count as missed
  });
});

describe('planSlots: schedules that end', () => {
  it('a schedule with no slot at all in the range', () => {
    const ended = cronSchedule('0 * * * *', { endAt: '2025-01-01T00:00:00Z' });
    expect(plan({ schedule: ended, after: T - 86_400_000 })).toEqual({ dueNow: [], missed: 0, dropped: 0, droppedBefore: null, next: null });
  });

  it('an ended schedule counts only the slots before its end', () => {
    const ending = intervalSchedule('1m', { endAt: new Date(T - 5 * MIN) });
    expect(plan({ schedule: ending, after: T - 11 * MIN, policy: 'run-once' })).toEqual({ dueNow: [T - 5 * MIN], missed: 6, dropped: 5, droppedBefore: T - 5 * MIN, next: null });
  });

  it('a once schedule missed while offline', () => {
    const once = onceSchedule(new Date(T - 30 * MIN));
    expect(plan({ schedule: once, after: T - 60 * MIN, policy: 'run-once' })).toEqual({ dueNow: [T - 30 * MIN], missed: 1, dropped: 0, droppedBefore: null, next: null });
    expect(plan({ schedule: once, after: T - 60 * MIN, policy: 'skip' })).toEqual({ dueNow: [], missed: 1, dropped: 1, droppedBefore: T - 4_900, next: null });
    expect(plan({ schedule: plain(once), after: T - 60 * MIN, policy: 'skip' })).toEqual({ dueNow: [], missed: 1, dropped: 1, droppedBefore: T - 4_900, next: null });
  });

  it('a once schedule on time, already handled, and in the future', () => {
    const once = onceSchedule(new Date(T));
    expect(plan({ schedule: once, after: T - 60 * MIN })).toEqual({ dueNow: [T], missed: 0, dropped: 0, droppedBefore: null, next: null });
    expect(plan({ schedule: once, after: T })).toEqual({ dueNow: [], missed: 0, dropped: 0, droppedBefore: null, next: null });
    expect(plan({ schedule: once, after: T - 60 * MIN, now: T - MIN })).toEqual({ dueNow: [], missed: 0, dropped: 0, droppedBefore: null, next: T });
  });

  it('follows DST: the repeated hour is two slots to catch up', () => {
    const hourly = cronSchedule('0 * * * *', { tz: 'America/New_York' });
    const now = Date.parse('2026-11-01T08:00:01Z');
    const result = planSlots({ schedule: hourly, after: Date.parse('2026-11-01T03:30:00Z'), now, policy: 'run-all', maxCatchUp: 10, graceMs: 5_000 });
    // 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST missed; 03:00 EST on time.
    expect(result.dueNow.map((s) => new Date(s).toISOString())).toEqual([
      '2026-11-01T04:00:00.000Z',
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
    ]);
    expect(result).toMatchObject({ missed: 4, dropped: 0, next: Date.parse('2026-11-01T09:00:00Z') });
  });
});
