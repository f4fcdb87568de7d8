import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { usePostgresCluster } from './postgres-cluster.js';
import { duplicateSlots, stderrLogLines, stderrOtherLines, waitFor } from './workers.js';

/**
 * Issue 14 on PostgreSQL (§13): the server's connection limit is reached.
 *
 * The scenario: a server whose `max_connections` is sized for the fleet
 * that runs (two instances whose pools hold at most two connections each:
 * the backend's `LISTEN` session and one for calls), with no slots kept for
 * superusers (the workers connect as the test cluster's superuser, and meet
 * the limit as an application's role would). A third instance is started (a
 * scale-up, a deploy that overlaps) and the server refuses its first
 * connection ("sorry, too many clients already").
 *
 * What a user who runs this expects:
 * - the instance that cannot connect says so clearly: its start fails with
 *   `E_BACKEND_UNAVAILABLE` naming the cause (the server's "too many
 *   clients"), logged, and it exits with the start-failure code (1) — no
 *   uncaught error (nothing on stderr but log lines), no hang;
 * - the instances that are up are not disturbed: every due slot of theirs
 *   runs exactly once (0 missed, 0 duplicates), before, during and after the
 *   failed start, and they see no outage (their sessions stay open);
 * - the instances that are up still stop cleanly.
 */

const MAX_CONNECTIONS = 4;
const POOL_MAX = 2;
const cluster = usePostgresCluster({ settings: [`max_connections=${MAX_CONNECTIONS}`, 'superuser_reserved_connections=0'] });

afterEach(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { appendFileSync } = await import('node:fs');
    appendFileSync(process.env.FAULT_DEBUG, cluster.workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
});

describe('fault: PostgreSQL connection limit reached when one more instance starts', () => {
  it('the instance that cannot connect fails its start with E_BACKEND_UNAVAILABLE (too many clients) and exits 1; the others miss and repeat no slot', async () => {
    const { workers } = cluster;
    const postgres = { ...cluster.place('connlimit'), poolMax: POOL_MAX };
    const jobs = [
      { name: 'tick', schedule: '* * * * * *', misfire: 'skip' as const },
      { name: 'pair', schedule: '*/2 * * * * *', misfire: 'skip' as const },
    ];
    const spec = (instanceId: string) => ({ instanceId, redisUrl: '', prefix: '', postgres, config: { pollIntervalMs: 500 }, jobs });
    const [a, b] = await Promise.all([workers.start(spec('node-a'), 60_000), workers.start(spec('node-b'), 60_000)]);
    const readyAt = Date.now();
    // Both ran ticks: their pools opened their second connection (the first is the LISTEN session).
    await waitFor('ticks on both instances', 15_000, () => (a.find('end').length > 0 && b.find('end').length > 0) || undefined);

    // The server is full: a client of the test itself is turned away too.
    const refused = await connectError(cluster.url);
    expect(refused, 'the server had a free connection slot: the scenario needs it full').toMatch(/too many clients/);

    // One more instance: turned away at its first connection.
    const failedStart = await workers.start(spec('node-c'), 60_000).then(
      () => 'ready',
      (error: unknown) => String(error),
    );
    expect(failedStart).toMatch(/exited/);
    const c = workers.all.find((w) => w.label === 'node-c')!;
    const exit = await c.waitForExit(15_000);
    const failedAt = Date.now();
    expect(exit, c.stderr).toEqual({ code: 1, signal: null });
    const logs = stderrLogLines(c.stderr);
    const hookFailure = logs.find((l) => l.message === 'hook failed to start');
    expect(hookFailure, c.stderr).toMatchObject({ hook: 'backend:postgres', error: { code: 'E_BACKEND_UNAVAILABLE' } });
    expect((hookFailure!.error as { message: string }).message).toMatch(/PostgreSQL unavailable.*too many clients/);
    const startFailure = logs.find((l) => l.message === 'start failed, exiting');
    expect(startFailure, c.stderr).toBeDefined();
    expect(JSON.stringify(startFailure)).toMatch(/too many clients/);
    // Nothing uncaught: every line on stderr is a log line (an uncaught error would print its stack).
    expect(stderrOtherLines(c.stderr)).toEqual([]);
    expect(c.find('start')).toEqual([]);

    // The two that are up go on: three more ticks after the failed start.
    const lastSlot = await waitFor('three ticks after the failed start', 10_000, () => {
      const slots = workers.lines('end').filter((l) => l.job === 'tick' && (l.slot as number) > failedAt).map((l) => l.slot as number);
      return slots.length >= 3 ? Math.max(...slots) : undefined;
    });
    for (const w of [a, b]) expect(w.alive, `${w.label} alive`).toBe(true);
    await workers.stopAll();
    for (const w of [a, b]) {
      expect((await w.exited).code, `${w.label} exit code`).toBe(0);
      // Their sessions stayed open: no outage, no unclassified backend error.
      expect(w.find('backend'), `${w.label} backend events`).toEqual([]);
      expect(stderrLogLines(w.stderr).filter((l) => l.level === 'error'), `${w.label} error logs`).toEqual([]);
      expect(stderrOtherLines(w.stderr), `${w.label} stderr`).toEqual([]);
    }

    // Every slot from the first whole second after both were ready to the last checked ran once.
    const starts = workers.lines('start');
    expect(duplicateSlots(starts)).toEqual([]);
    const from = Math.ceil((readyAt + 1) / 1_000) * 1_000 + 1_000;
    const ran = (job: string): Set<number> => new Set(starts.filter((l) => l.job === job).map((l) => l.slot as number));
    const missed: string[] = [];
    for (let slot = from; slot <= lastSlot; slot += 1_000) {
      if (!ran('tick').has(slot)) missed.push(`tick@${slot}`);
      if (slot % 2_000 === 0 && !ran('pair').has(slot)) missed.push(`pair@${slot}`);
    }
    expect(missed).toEqual([]);
  }, 120_000);
});

/** The error of a connection the test itself tries to open (and closes), or null when it connected. */
async function connectError(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
