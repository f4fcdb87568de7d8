import { describe, expect, it } from 'vitest';
import type { LogLine } from '../helpers/node-process.js';
import { usePostgresCluster } from './postgres-cluster.js';
import { elapse, runSpans, waitFor } from './workers.js';

// SPEC §4.1 and §13 with real processes: four instances share fifty jobs
// that fire every second, on one PostgreSQL. Every slot of a window that
// starts once all four are up runs exactly once: the claim is unique per
// (job, slot) in the database, whatever the instances' timing.

const cluster = usePostgresCluster();
const { workers } = cluster;

const JOBS = 50;
const INSTANCES = ['node-1', 'node-2', 'node-3', 'node-4'];
/** Slots in the window: one a second. */
const WINDOW_SLOTS = 15;

const slotKey = (l: LogLine): string => `${String(l.job)}@${String(l.slot)}`;

describe('cluster on PostgreSQL: 4 instances, 50 jobs every second', () => {
  it('runs every slot of a 15 s window exactly once, never overlapping, with every instance taking part', async () => {
    const place = cluster.place('exactly_once');
    const jobs = [{ name: 'tick', count: JOBS, schedule: '* * * * * *', durationMs: 50 }];
    // Started together, so they race on the migrations and on every new job row too.
    await Promise.all(INSTANCES.map((instanceId) => workers.start({ instanceId, redisUrl: '', prefix: '', postgres: place, jobs }, 90_000)));
    // Two seconds after the last one was ready: every instance is up and known to the others.
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
    const to = from + (WINDOW_SLOTS - 1) * 1000;
    const inWindow = (l: LogLine): boolean => (l.slot as number) >= from && (l.slot as number) <= to;
    const expected = JOBS * WINDOW_SLOTS;

    // The window passes in real time; then a bounded wait for its last slots
    // to start and end on a loaded machine (a missed slot never does: the
    // wait then ends at its deadline and the counts below say what is missing).
    await elapse(to + 1_000 - Date.now());
    const startedKeys = (): Set<string> => new Set(workers.lines('start').filter(inWindow).map(slotKey));
    const endedKeys = (): Set<string> => new Set(workers.lines('end').filter(inWindow).map(slotKey));
    await waitFor('every slot of the window started and ended', 20_000, () =>
      startedKeys().size >= expected && endedKeys().size >= expected ? true : undefined,
    ).catch(() => undefined);
    await workers.stopAll();

    const starts = workers.lines('start').filter(inWindow);
    // 0 duplicates: no job@slot started twice, by any attempt on any instance.
    const seen = new Map<string, string[]>();
    for (const s of starts) seen.set(slotKey(s), [...(seen.get(slotKey(s)) ?? []), `${String(s.instance)}#${String(s.attempt)}`]);
    const duplicates = [...seen].filter(([, where]) => where.length > 1).map(([key, where]) => `${key} on ${where.join(', ')}`);
    expect(duplicates).toEqual([]);
    // 0 missed: every job has every slot of the window.
    const missing: string[] = [];
    for (let i = 0; i < JOBS; i++) for (let slot = from; slot <= to; slot += 1000) if (!seen.has(`tick-${i}@${slot}`)) missing.push(`tick-${i}@${slot}`);
    expect(missing).toEqual([]);
    expect(starts).toHaveLength(expected);

    // No overlap: within a job, a run ends before the next one starts.
    const spans = runSpans(starts, workers.lines('end'));
    expect(spans).toHaveLength(expected);
    const byJob = new Map<string, Array<{ start: number; end: number }>>();
    for (const span of spans) byJob.set(span.job, [...(byJob.get(span.job) ?? []), span]);
    const overlaps: string[] = [];
    for (const [job, runs] of byJob) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) if (runs[i]!.start < runs[i - 1]!.end) overlaps.push(`${job} at ${runs[i]!.start}`);
    }
    expect(overlaps).toEqual([]);

    // Every instance ran some (the claim is not won by one instance always).
    const perInstance = new Map<string, number>(INSTANCES.map((id) => [id, 0]));
    for (const s of starts) perInstance.set(s.instance as string, (perInstance.get(s.instance as string) ?? 0) + 1);
    console.log(`window ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}: ${starts.length} runs, per instance ${JSON.stringify(Object.fromEntries(perInstance))}`);
    for (const id of INSTANCES) expect(perInstance.get(id), `runs on ${id}`).toBeGreaterThan(0);

    // Nothing failed, and every worker stopped cleanly.
    expect(workers.lines('failure')).toEqual([]);
    for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code\n${w.stderr.slice(-2_000)}`).toBe(0);
  }, 180_000);
});
