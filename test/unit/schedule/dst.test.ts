/**
 * DST policy, NOTES-deps §4.2, every line, 2026 (New York: 8 Mar spring
 * forward, 1 Nov fall back; Berlin: 29 Mar and 25 Oct). Each sequence is
 * checked forward (next), backward (prev), and from every minute around the
 * transition (the answer must not depend on where the search starts).
 */
import { describe, expect, it } from 'vitest';
import { cronSchedule } from '../../../src/schedule/cron-schedule.js';

const NY = 'America/New_York';
const BER = 'Europe/Berlin';

function forward(expr: string, tz: string, from: string, n: number): string[] {
  const s = cronSchedule(expr, { tz });
  const out: string[] = [];
  for (let d = s.next(new Date(from)); d !== null && out.length < n; d = s.next(d)) out.push(d.toISOString());
  return out;
}

function backward(expr: string, tz: string, atOrBefore: string, n: number): string[] {
  const s = cronSchedule(expr, { tz });
  const out: string[] = [];
  for (let d = s.prev(new Date(atOrBefore)); d !== null && out.length < n; d = s.prev(new Date(d.getTime() - 1))) out.push(d.toISOString());
  return out;
}

/** The slots must be what next()/prev() give from every minute (and every minute + 30 s) in between. */
function expectConsistent(expr: string, tz: string, slots: string[]): void {
  const s = cronSchedule(expr, { tz });
  const times = slots.map((x) => Date.parse(x));
  const first = times[0] as number;
  const last = times[times.length - 1] as number;
  for (let x = first; x < last; x += 30_000) {
    const expectedNext = times.find((t) => t > x);
    const expectedPrev = [...times].reverse().find((t) => t <= x);
    expect([new Date(x).toISOString(), s.next(new Date(x))?.getTime()]).toEqual([new Date(x).toISOString(), expectedNext]);
    expect([new Date(x).toISOString(), s.prev(new Date(x))?.getTime()]).toEqual([new Date(x).toISOString(), expectedPrev]);
  }
}

function check(expr: string, tz: string, slots: string[]): void {
  const before = new Date(Date.parse(slots[0] as string) - 1).toISOString();
  expect(forward(expr, tz, before, slots.length)).toEqual(slots);
  expect(backward(expr, tz, slots[slots.length - 1] as string, slots.length)).toEqual([...slots].reverse());
  expectConsistent(expr, tz, slots);
}

describe('DST America/New_York 2026', () => {
  it("'30 2 * * *' spring: the nonexistent 02:30 moves to 03:30 EDT, not skipped", () => {
    // Mar 7 02:30 EST | Mar 8 03:30 EDT | Mar 9 02:30 EDT
    check('30 2 * * *', NY, ['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it("'0 * * * *' spring: 02:00 skipped, no double 03:00", () => {
    // 00:00 EST, 01:00 EST, 03:00 EDT, 04:00 EDT
    check('0 * * * *', NY, ['2026-03-08T05:00:00.000Z', '2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
  });

  it("'30 2 * * *' fall: once (02:30 is not ambiguous in New York)", () => {
    // Oct 31 02:30 EDT | Nov 1 02:30 EST | Nov 2 02:30 EST
    check('30 2 * * *', NY, ['2026-10-31T06:30:00.000Z', '2026-11-01T07:30:00.000Z', '2026-11-02T07:30:00.000Z']);
  });

  it("'0 * * * *' fall: the repeated hour fires twice", () => {
    // 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST
    check('0 * * * *', NY, ['2026-11-01T04:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z']);
  });

  it("'30 1 * * *' fall: the ambiguous daily time fires once, at its first occurrence", () => {
    // Oct 31 01:30 EDT | Nov 1 01:30 EDT only | Nov 2 01:30 EST
    check('30 1 * * *', NY, ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('prev() over the fall-back is symmetric: 03:00 EST, 02:00 EST, 01:00 EST, 01:00 EDT, 00:00 EDT', () => {
    expect(backward('0 * * * *', NY, '2026-11-01T08:00:00.000Z', 5)).toEqual([
      '2026-11-01T08:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T04:00:00.000Z',
    ]);
  });
});

describe('DST Europe/Berlin 2026', () => {
  it("'30 2 * * *' spring: shifted to 03:30 CEST", () => {
    // Mar 28 02:30 CET | Mar 29 03:30 CEST | Mar 30 02:30 CEST
    check('30 2 * * *', BER, ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it("'0 * * * *' spring: 02:00 skipped", () => {
    // Mar 29 00:00 CET, 01:00 CET, 03:00 CEST, 04:00 CEST
    check('0 * * * *', BER, ['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']);
  });

  it("'30 2 * * *' fall: the ambiguous 02:30 fires once (CEST)", () => {
    // Oct 24 02:30 CEST | Oct 25 02:30 CEST only | Oct 26 02:30 CET
    check('30 2 * * *', BER, ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it("'0 * * * *' fall: 02:00 fires twice", () => {
    // Oct 25 00:00 CEST, 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET
    check('0 * * * *', BER, ['2026-10-24T22:00:00.000Z', '2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  it("'*/30 * * * *' fall: 02:00 CEST, 02:30 CEST, 02:00 CET, 02:30 CET, 03:00 CET", () => {
    check('*/30 * * * *', BER, ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  it("'*/30 * * * *' spring: 01:30 CET, 03:00 CEST, 03:30 CEST", () => {
    check('*/30 * * * *', BER, ['2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z']);
  });
});

describe('DST: fixed-time patterns other than a single time', () => {
  it('a restricted hour list follows the same rules (shift forward, first occurrence)', () => {
    // '30 1,2' in New York, spring: 01:30 EST, 02:30 -> 03:30 EDT.
    check('30 1,2 * * *', NY, ['2026-03-08T06:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T05:30:00.000Z']);
    // fall: 01:30 EDT (first occurrence only), 02:30 EST.
    check('30 1,2 * * *', NY, ['2026-11-01T05:30:00.000Z', '2026-11-01T07:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('a time that collides with its shifted twin runs once', () => {
    // 02:30 does not exist on Mar 8 and moves to 03:30, which is also a slot.
    check('30 2,3 * * *', NY, ['2026-03-07T07:30:00.000Z', '2026-03-07T08:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });
});
