// Runs each example as a real child process (`node --import tsx examples/<x>/main.ts`)
// with stdout piped, so the default winston logger writes JSON lines; the
// tests read them as they arrive, each wait bounded by a deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { NodeProcess, type LogLine } from '../helpers/node-process.js';

const running: NodeProcess[] = [];

function start(example: string): NodeProcess {
  const child = new NodeProcess(example, `examples/${example}/main.ts`);
  running.push(child);
  return child;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.kill()));
});

const time = (line: LogLine): number => Date.parse(line.timestamp);
const hooks = (child: NodeProcess, message: 'hook started' | 'hook stopped'): string[] =>
  child.find(message).map((line) => String(line.hook));

/** No crash report, unhandled rejection or uncaught error on stderr; stdout is only JSON lines. */
function expectCleanOutput(child: NodeProcess): void {
  expect(child.stderr, child.stderr).not.toMatch(/unhandled|uncaught|error/i);
  expect(child.otherLines).toEqual([]);
}

describe('examples (real processes)', () => {
  it('main: cron, interval, one-off with params, retry, timeout, pause/resume; SIGINT stops in reverse with exit code 0', async () => {
    const app = start('main');
    const deadline = Date.now() + 30_000; // the story takes ~10 s after a 1-2 s tsx start
    const left = (): number => Math.max(1, deadline - Date.now());

    const started = await app.waitForLine('started; waiting for SIGINT or SIGTERM', {}, left());
    expect(started.hooks).toEqual(['logger', 'backend:memory', 'lock:memory', 'executor', 'registrars', 'scheduler', 'demo']);

    // A cron job with seconds and an interval job (from the @Scheduled class).
    const cron = await app.waitForLine('cron run', { job: 'heartbeat' }, left());
    expect(new Date(String(cron.slot)).getUTCSeconds() % 2).toBe(0);
    const interval = await app.waitForLine('interval run', { job: 'inventory-sync' }, left());
    expect(interval.params).toEqual({ warehouse: 'berlin' });
    expect(Date.parse(String(interval.slot)) % 3_000).toBe(0);

    // A one-off run with params, due 1 s after it was triggered.
    const triggered = await app.waitForLine('triggered one-off run', { job: 'send-email' }, left());
    expect(triggered).toMatchObject({ id: 'welcome-ada', created: true });
    const email = await app.waitForLine('one-off run: email sent', { job: 'send-email' }, left());
    expect(email.params).toEqual({ to: 'ada@example.com', template: 'welcome' });
    expect(time(email)).toBeGreaterThanOrEqual(Date.parse(String(triggered.dueAt)));

    // Fails on attempts 1 and 2, each followed by a retry event; succeeds on attempt 3.
    const imported = await app.waitForLine('import succeeded', { job: 'flaky-import' }, left());
    expect(imported).toMatchObject({ attempt: 3, params: { file: 'prices.csv' } });
    const retries = app.find('event run:retry', { job: 'flaky-import' });
    expect(retries.map((r) => [r.attempt, r.nextAttempt])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(app.find('run failed', { job: 'flaky-import' }).map((l) => l.attempt)).toEqual([1, 2]);
    expect(retries.every((r) => time(r) <= time(imported))).toBe(true);

    // Times out at 300 ms; the handler sees its signal abort and stops.
    const timedOut = await app.waitForLine('event run:timeout', { job: 'slow-report' }, left());
    expect(timedOut).toMatchObject({ attempt: 1, code: 'E_TIMEOUT' });
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(300);
    expect(timedOut.durationMs).toBeLessThan(2_000);
    await app.waitForLine('report stopped: its signal aborted', { job: 'slow-report' }, left());
    await app.waitForLine('event run:failure: giving up', { job: 'slow-report', outcome: 'timeout' }, left());

    // Paused, resumed, and a cron run after the resume; no slot between the two ran.
    const paused = await app.waitForLine('paused job: its slots pass without running', { job: 'heartbeat' }, left());
    const resumed = await app.waitForLine('resumed job: it runs again from its next slot', { job: 'heartbeat' }, left());
    expect(time(resumed) - time(paused)).toBeGreaterThanOrEqual(2_000); // a 2 s cron slot fell in between
    const cronSlot = (line: LogLine): number => Date.parse(String(line.slot));
    await app.waitUntil('a cron run after the resume', left(), () =>
      app.find('cron run', { job: 'heartbeat' }).some((l) => cronSlot(l) > time(resumed)),
    );
    // (A slot due within a few ms before the resume may be dispatched just after it and run: kept out with a margin.)
    const whilePaused = app.find('cron run', { job: 'heartbeat' }).filter((l) => cronSlot(l) > time(paused) && cronSlot(l) < time(resumed) - 100);
    expect(whilePaused).toEqual([]);

    // Ctrl-C: a graceful stop, hooks in reverse, exit code 0.
    app.signal('SIGINT');
    const exit = await app.waitForExit(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(app.find('received SIGINT, stopping')).toHaveLength(1);
    expect(app.find('scheduler stopped')).toHaveLength(1);
    const startOrder = hooks(app, 'hook started');
    expect(startOrder).toEqual(['logger', 'backend:memory', 'lock:memory', 'executor', 'registrars', 'scheduler', 'demo']);
    // `registrars` has no stop callback; `logger` stops last (its line is written after its flush).
    expect(hooks(app, 'hook stopped')).toEqual([...startOrder].reverse().filter((hook) => hook !== 'registrars'));
    const lastStart = Math.max(...app.find('hook started').map(time));
    expect(app.find('hook stopped').every((line) => time(line) >= lastStart)).toBe(true);
    expectCleanOutput(app);
  }, 60_000);

  it('quickstart: runs its cron and interval jobs, then stops on SIGINT with exit code 0', async () => {
    const app = start('quickstart');
    const cron = await app.waitForLine('cleaning up', { job: 'cleanup' }, 20_000);
    expect(new Date(String(cron.slot)).getUTCSeconds() % 2).toBe(0);
    const interval = await app.waitForLine('prices synced', { job: 'sync-prices' }, 20_000);
    expect(Date.parse(String(interval.slot)) % 3_000).toBe(0);

    app.signal('SIGINT');
    expect(await app.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    expect(hooks(app, 'hook stopped')).toEqual(['scheduler', 'executor', 'lock:memory', 'backend:memory', 'logger']);
    expectCleanOutput(app);
  }, 45_000);

  it('social-posts: publishes every post exactly once per tenant, ignores the duplicate trigger, exits 0 by itself', async () => {
    const app = start('social-posts');
    expect(await app.waitForExit(30_000)).toEqual({ code: 0, signal: null });

    const posts = [
      ['acme', 'a1'],
      ['globex', 'g1'],
      ['acme', 'a2'],
      ['acme', 'a3'],
      ['globex', 'g2'],
    ] as const;
    for (const [tenantId, postId] of posts) {
      const scheduled = app.find('post scheduled', { tenantId, postId });
      // a1 is triggered twice with the same id: the second is a no-op.
      expect(scheduled.map((l) => l.created)).toEqual(postId === 'a1' ? [true, false] : [true]);
      expect(scheduled.every((l) => l.id === `post-${postId}` && l.dueAt === scheduled[0]!.dueAt)).toBe(true);

      const published = app.find('post published', { tenantId, postId });
      expect(published, `${tenantId}/${postId}`).toHaveLength(1);
      expect(published[0]).toMatchObject({ job: 'publish-post', attempt: 1 });
      // Not early: published at or after its due time.
      expect(time(published[0]!)).toBeGreaterThanOrEqual(Date.parse(String(scheduled[0]!.dueAt)));

      const [summary] = app.find('summary', { tenantId, postId });
      expect(summary).toMatchObject({ publishCount: 1, fencingToken: published[0]!.fencingToken });
    }
    expect(app.find('post published')).toHaveLength(posts.length);
    expect(app.find('post was already published')).toEqual([]);
    expect(app.find('stale writer refused')).toEqual([]);

    // Fencing tokens increase per job, and each tenant's job is its own.
    for (const tenantId of ['acme', 'globex']) {
      const tokens = app.find('post published', { tenantId }).map((l) => Number(l.fencingToken));
      expect(tokens.every((token, i) => i === 0 || token > tokens[i - 1]!), `${tenantId}: ${tokens.join(', ')}`).toBe(true);
    }
    expect(app.find('stale writer tried to publish a3 again')[0]).toMatchObject({ result: 'stale-token' });
    expect(app.find('all posts published')[0]).toMatchObject({ posts: 5, published: 5 });
    expect(hooks(app, 'hook stopped')).toEqual(['scheduler', 'executor', 'lock:memory', 'backend:memory', 'logger']);
    expectCleanOutput(app);
  }, 45_000);

  it('cluster demo: three instances on a private Redis run every slot once, then stop with exit code 0', async () => {
    const demo = new NodeProcess('cluster-demo', 'examples/cluster/demo.ts');
    running.push(demo);
    expect(await demo.waitForExit(45_000)).toEqual({ code: 0, signal: null });
    const summary = demo.otherLines.find((line) => line.includes('slots run twice'));
    expect(summary, demo.otherLines.join('\n')).toMatch(/slots run twice: 0; exit codes 0, 0, 0/);
    expect(demo.otherLines.filter((line) => / ran on [abc]$/.test(line)).length).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('by-hand: a cron job and a one-off run without a container; stops, flushes and exits 0 by itself', async () => {
    const app = start('by-hand');
    expect(await app.waitForExit(20_000)).toEqual({ code: 0, signal: null });

    expect(app.find('triggered')[0]).toMatchObject({ id: 'greet-1', created: true });
    const hello = app.find('hello', { job: 'greet' });
    expect(hello).toHaveLength(1);
    expect(hello[0]!.params).toEqual({ who: 'world' });
    const ticks = app.find('tick', { job: 'tick' }).map((l) => Date.parse(String(l.slot)));
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.every((slot, i) => slot % 1_000 === 0 && (i === 0 || slot - ticks[i - 1]! === 1_000))).toBe(true);
    // The flush wrote everything: the scheduler's last line is the last line.
    expect(app.lines.at(-1)?.message).toBe('scheduler stopped');
    expectCleanOutput(app);
  }, 40_000);
});
