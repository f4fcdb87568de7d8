import { describe, expect, it } from 'vitest';
import type { LogLine } from '../helpers/node-process.js';
import { usePostgresCluster } from './postgres-cluster.js';
import { elapse, waitFor } from './workers.js';

// SPEC §4.5 on PostgreSQL (§13), with real processes: one instance whose
// clock runs 5 s ahead, one 5 s behind (an injected OffsetClock) and one on
// time share 20 jobs every second. PostgreSQL runs on this machine, so the
// database's clock is the real clock: each worker prints the real time (`at`,
// not its own skewed clock) when a handler starts, and no start may come
// before its slot.

const cluster = usePostgresCluster();
const { workers } = cluster;

const JOBS = 20;
const WINDOW_SLOTS = 8;
const CLOCKS = [
  { instanceId: 'ahead', clockOffsetMs: 5_000 },
  { instanceId: 'behind', clockOffsetMs: -5_000 },
  { instanceId: 'on-time', clockOffsetMs: 0 },
];

const slotKey = (l: LogLine): string => `${String(l.job)}@${String(l.slot)}`;

describe('cluster on PostgreSQL: instances with clocks 5 s ahead and 5 s behind', () => {
  it('run no slot twice, miss none, and start none before its slot by the database clock', async () => {
    const place = cluster.place('skew');
    const jobs = [{ name: 'tick', count: JOBS, schedule: '* * * * * *', durationMs: 20 }];
    await Promise.all(
      CLOCKS.map(({ instanceId, clockOffsetMs }) =>
        workers.start({ instanceId, clockOffsetMs, redisUrl: '', prefix: '', postgres: place, config: { shutdownTimeoutMs: 2_000 }, jobs }, 90_000),
      ),
    );
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
    const to = from + (WINDOW_SLOTS - 1) * 1000;
    const inWindow = (l: LogLine): boolean => (l.slot as number) >= from && (l.slot as number) <= to;
    const expected = JOBS * WINDOW_SLOTS;
    // The window passes in real time (the instance 5 s behind, were it to
    // trust its clock, would still be claiming its slots 5 s later: wait that
    // out too), then a bounded wait for the last slots on a loaded machine.
    await elapse(to + 6_000 - Date.now());
    await waitFor('every slot of the window started', 20_000, () =>
      new Set(workers.lines('start').filter(inWindow).map(slotKey)).size >= expected ? true : undefined,
    ).catch(() => undefined);

    const starts = workers.lines('start').filter(inWindow);
    const where = new Map<string, string[]>();
    for (const s of starts) where.set(slotKey(s), [...(where.get(slotKey(s)) ?? []), `${String(s.instance)}#${String(s.attempt)}`]);
    expect([...where].filter(([, on]) => on.length > 1).map(([key, on]) => `${key} on ${on.join(', ')}`)).toEqual([]);
    // Real time at the start, against the slot: never early, on any instance.
    const early = starts
      .filter((s) => (s.at as number) < (s.slot as number))
      .map((s) => `${slotKey(s)} on ${String(s.instance)} ${(s.slot as number) - (s.at as number)} ms early`);
    expect(early).toEqual([]);
    const missing: string[] = [];
    for (let i = 0; i < JOBS; i++) for (let slot = from; slot <= to; slot += 1000) if (!where.has(`tick-${i}@${slot}`)) missing.push(`tick-${i}@${slot}`);
    expect(missing).toEqual([]);
    // The skewed instances took part (they were not just losing every claim).
    const ran = (id: string): number => starts.filter((s) => s.instance === id).length;
    console.log(`runs: ahead ${ran('ahead')}, behind ${ran('behind')}, on-time ${ran('on-time')}; latest start ${Math.max(...starts.map((s) => (s.at as number) - (s.slot as number)))} ms after its slot`);
    expect(ran('ahead')).toBeGreaterThan(0);
    expect(ran('behind')).toBeGreaterThan(0);
    expect(workers.lines('failure')).toEqual([]);

    await workers.stopAll();
    for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code\n${w.stderr.slice(-2_000)}`).toBe(0);
  }, 150_000);
});
