import { describe, expect, it } from 'vitest';
import type { NodeProcess } from '../helpers/node-process.js';
import { usePostgresCluster } from './postgres-cluster.js';
import { elapse } from './workers.js';

// A rolling deploy on PostgreSQL (rolling-deploy.test.ts on Redis): three
// instances run `report` every 2 s; one by one each is stopped and replaced
// by one that defines it every 3 s. The first new instance stores the new
// definition; the old ones still running adopt it at their next claim (it
// is superseded). Across the change no slot runs twice and none is missed:
// the slots that ran are every */2 slot up to one instant and every */3
// slot from then on.

const cluster = usePostgresCluster();
const { workers } = cluster;

const isOld = (slot: number): boolean => new Date(slot).getUTCSeconds() % 2 === 0;
const isNew = (slot: number): boolean => new Date(slot).getUTCSeconds() % 3 === 0;

describe('cluster on PostgreSQL: a rolling deploy that changes a schedule', () => {
  it('runs the old schedule up to the change and the new one after it, every slot once, and logs the change once', async () => {
    const place = cluster.place('rolling');
    const base = { redisUrl: '', prefix: '', postgres: place };
    const v1 = [{ name: 'report', schedule: '*/2 * * * * *' }];
    const v2 = [{ name: 'report', schedule: '*/3 * * * * *' }];
    const old: NodeProcess[] = await Promise.all([1, 2, 3].map((i) => workers.start({ ...base, instanceId: `v1-${i}`, jobs: v1 }, 90_000)));
    // Slots from here on are covered: every old instance is up. Then at
    // least two */2 slots run before the change can begin, a second before
    // the first old instance stops (checked below).
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1_000;
    await elapse(8_000);

    // The change happens while the first new instance starts: after it was
    // spawned, before it said ready (it stores its definitions during start).
    let changeAfter = 0;
    let changeBefore = 0;
    for (let i = 0; i < 3; i++) {
      old[i]!.signal('SIGTERM');
      await old[i]!.waitForExit(20_000);
      if (i === 0) changeAfter = Date.now();
      await workers.start({ ...base, instanceId: `v2-${i + 1}`, jobs: v2 }, 90_000);
      if (i === 0) changeBefore = Date.now();
      await elapse(3_000);
    }
    // Long enough that the new schedule shows in at least five */3 slots after the change.
    await elapse(9_000);
    const stoppedAt = Date.now();
    await workers.stopAll();
    // A slot due in the last moments may not have been claimed before the stop.
    const to = stoppedAt - 2_000;

    const starts = workers.lines('start').filter((s) => (s.slot as number) >= from && (s.slot as number) <= to);
    const keys = starts.map((s) => `${String(s.slot)} on ${String(s.instance)}`);
    // No slot twice.
    const slots = starts.map((s) => s.slot as number).sort((a, b) => a - b);
    expect(slots.filter((slot, n) => slots.indexOf(slot) !== n), keys.join('\n')).toEqual([]);

    // The slots that ran are exactly: every */2 slot before some instant
    // `switchAt` within the change (whole seconds around it), every */3 slot
    // from it on. None missed on either side, none of the old schedule after
    // it, and the new schedule did take effect.
    const expectedWith = (switchAt: number): number[] => {
      const out: number[] = [];
      for (let t = from; t <= to; t += 1_000) if (t < switchAt ? isOld(t) : isNew(t)) out.push(t);
      return out;
    };
    const earliest = Math.floor(changeAfter / 1000) * 1000 - 1_000;
    const latest = Math.ceil(changeBefore / 1000) * 1000 + 1_000;
    const candidates: number[] = [];
    for (let t = earliest; t <= latest; t += 1_000) candidates.push(t);
    const switchAt = candidates.find((t) => JSON.stringify(expectedWith(t)) === JSON.stringify(slots));
    const show = (list: number[]): string => list.map((t) => new Date(t).toISOString().slice(14, 19)).join(' ');
    console.log(
      `change between ${new Date(changeAfter).toISOString()} and ${new Date(changeBefore).toISOString()}; ran ${show(slots)}; ` +
        `switch at ${switchAt === undefined ? 'none' : new Date(switchAt).toISOString()}`,
    );
    expect(
      switchAt,
      `no instant between ${show([earliest])} and ${show([latest])} splits the runs into */2 then */3\nran:      ${show(slots)}\n` +
        `expected e.g. ${show(expectedWith(latest))}`,
    ).toBeDefined();
    expect(slots.filter((t) => t > latest && isNew(t)).length).toBeGreaterThanOrEqual(5);
    expect(slots.filter((t) => t < earliest && isOld(t)).length).toBeGreaterThanOrEqual(2);

    // Stored once, by the first new instance; the later ones found it stored.
    const changeLines = workers.all.map((w) => (w.stderr.match(/job definition changed/g) ?? []).length);
    expect(changeLines.reduce((a, b) => a + b, 0)).toBe(1);
    expect(workers.lines('failure')).toEqual([]);
    for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code`).toBe(0);
  }, 180_000);
});
