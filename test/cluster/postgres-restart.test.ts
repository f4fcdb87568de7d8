import { afterEach, describe, expect, it } from 'vitest';
import { usePostgresCluster } from './postgres-cluster.js';
import { duplicateSlots, elapse, stderrLogLines, stderrOtherLines, waitFor } from './workers.js';

/**
 * SPEC §4.9 on PostgreSQL (§13), issue 14: the database server of a
 * 3-instance app crashes (an immediate shutdown: SIGQUIT to the postmaster,
 * which kills every session without a checkpoint) and starts again on the
 * same port and data directory a few seconds later, after crash recovery.
 * While it is down nothing runs, no worker crashes, and each reports the
 * outage once and its end once; when the server accepts connections again,
 * runs resume within 5 s and the slots missed meanwhile follow each job's
 * misfire policy; no slot runs twice.
 */

// A crash keeps only what reached the WAL: with the test clusters' usual
// synchronous_commit=off, a commit already answered could be lost, which a
// server configured for durability (the default) never does. Durable commits
// here, so a re-run after the crash is the scheduler's fault, not the setup's.
const cluster = usePostgresCluster({ settings: ['synchronous_commit=on'] });

afterEach(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { appendFileSync } = await import('node:fs');
    appendFileSync(process.env.FAULT_DEBUG, cluster.workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
});

const EVERY_5 = '*/5 * * * * *';
const OUTAGE_LOG = 'backend or lock unreachable';

describe('fault: PostgreSQL crashes (immediate shutdown) and restarts under a 3-instance app', () => {
  it('crashes no worker, reports the outage once per instance, resumes within 5 s, and applies the misfire policy', async () => {
    const { workers, server } = cluster;
    const postgres = cluster.place('restart');
    const jobs = [
      { name: 'tick', schedule: '* * * * * *', misfire: 'skip' as const },
      { name: 'catch-once', schedule: EVERY_5, misfire: 'run-once' as const },
      { name: 'catch-none', schedule: EVERY_5, misfire: 'skip' as const },
      { name: 'catch-all', schedule: EVERY_5, misfire: 'run-all' as const },
    ];
    const config = { pollIntervalMs: 500 };
    await Promise.all(
      [1, 2, 3].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: '', prefix: '', postgres, config, jobs }, 60_000)),
    );
    const readyAt = Date.now();

    // A */5 slot every instance has seen through: all three */5 jobs ran it and ended.
    const s0 = await waitFor('a */5 slot run by all three */5 jobs', 15_000, () => {
      const ended = workers.lines('end').filter((l) => (l.slot as number) > readyAt && String(l.job).startsWith('catch-'));
      const slots = [...new Set(ended.map((l) => l.slot as number))];
      return slots.find((slot) => ended.filter((l) => l.slot === slot).length === 3);
    });
    // Half a second after it (its outcomes are recorded, the next tick is half a second away), the server crashes.
    await elapse(Math.max(0, s0 + 500 - Date.now()));
    const downAt = Date.now();
    // Down across the next two */5 slots: the new postmaster starts no sooner than 300 ms after the second.
    const backNoSoonerThan = s0 + 10_300;
    await server.restart({ mode: 'immediate', downMs: Math.max(0, backNoSoonerThan - Date.now()) });
    // It accepts connections (at most a poll of the harness, 50 ms, earlier).
    const upAt = Date.now();
    const missed = [s0 + 5_000, s0 + 10_000];
    const s3 = s0 + 15_000;
    expect(upAt).toBeLessThan(s3 - 1_000);

    // Nothing ran while the server was down.
    const runsWhileDown = workers.lines('start').filter((l) => (l.at as number) > downAt + 100 && (l.at as number) < backNoSoonerThan);
    expect(runsWhileDown).toEqual([]);
    // Every worker saw the outage (the crash ended all its sessions).
    for (const w of workers.all) await w.waitForLine('backend', { state: 'down' }, 5_000);

    // Runs resume within 5 s of the server accepting connections again.
    const firstTick = await waitFor('a tick after the server came back', 10_000, () =>
      workers.lines('start').find((l) => l.job === 'tick' && (l.slot as number) >= upAt),
    );
    expect((firstTick.at as number) - upAt).toBeLessThanOrEqual(5_000);
    // The */5 slot after the outage runs for every job, and the tick after it ends (late duplicates would show by then).
    await waitFor('slot s3 of every */5 job', 15_000, () => workers.lines('end').filter((l) => l.slot === s3 && String(l.job).startsWith('catch-')).length === 3 || undefined);
    await waitFor('the tick after s3', 5_000, () => workers.lines('end').find((l) => l.job === 'tick' && l.slot === s3 + 1_000));

    // No worker crashed: all alive, and each stops cleanly.
    for (const w of workers.all) expect(w.alive, `${w.label} alive`).toBe(true);
    await workers.stopAll();
    for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code`).toBe(0);

    const starts = workers.lines('start');
    expect(duplicateSlots(starts)).toEqual([]);
    const slotsOf = (job: string): number[] =>
      starts
        .filter((l) => l.job === job && (l.slot as number) > s0 && (l.slot as number) < s3)
        .map((l) => l.slot as number)
        .sort((a, b) => a - b);
    // run-once: one catch-up, the newest missed slot; skip: none; run-all: each missed slot.
    expect(slotsOf('catch-once')).toEqual([missed[1]]);
    expect(slotsOf('catch-none')).toEqual([]);
    expect(slotsOf('catch-all')).toEqual(missed);
    // Catch-ups run once the server is back, not before.
    for (const l of starts.filter((s) => (s.slot as number) > s0 && (s.slot as number) < upAt)) {
      expect(l.at as number, JSON.stringify(l)).toBeGreaterThanOrEqual(backNoSoonerThan);
    }
    // Once resumed, ticking went on every second.
    const ticks = new Set(starts.filter((l) => l.job === 'tick').map((l) => l.slot as number));
    for (let slot = firstTick.slot as number; slot <= s3 + 1_000; slot += 1_000) expect(ticks.has(slot), `tick ${slot}`).toBe(true);

    for (const w of workers.all) {
      // The outage is reported once per instance, then its end, not once per tick.
      expect(w.find('backend').map((l) => l.state), `${w.label} backend events`).toEqual(['down', 'up']);
      const logs = stderrLogLines(w.stderr);
      expect(logs.filter((l) => l.message.includes(OUTAGE_LOG)).length, `${w.label} outage log lines`).toBe(1);
      // A crash is an outage, not a bug: no "backend call failed" (an error the backend did not classify as unreachable).
      expect(logs.filter((l) => l.message === 'backend call failed'), `${w.label} unclassified backend errors`).toEqual([]);
      // Nothing uncaught: every line on stderr is a log line (an uncaught error would print its stack).
      expect(stderrOtherLines(w.stderr), `${w.label} stderr lines that are not log lines`).toEqual([]);
    }
  }, 120_000);
});
