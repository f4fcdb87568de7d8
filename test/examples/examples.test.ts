// Runs each example as a real child process (`node --import tsx examples/<x>/main.ts`)
// with stdout piped, so the default winston logger writes JSON lines; the
// tests read them as they arrive, each wait bounded by a deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { NodeProcess, type LogLine } from '../helpers/node-process.js';
import { startRedis } from '../helpers/redis-server.js';

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

  it('social-posts in one process: the web role (client only) schedules, lists, moves and cancels; the worker role publishes under rate limits and lock groups; exits 0 by itself', async () => {
    const app = start('social-posts');
    expect(await app.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expectSocialPosts(app, app);
    expect(hooks(app, 'hook stopped')).toEqual(['scheduler', 'executor', 'lock:memory', 'backend:memory', 'logger']);
    expectCleanOutput(app);
  }, 45_000);

  it('social-posts on Redis: a web process with only a client and a worker process, each exiting 0 by itself', async () => {
    const redis = await startRedis();
    try {
      const env = { REDIS_URL: redis.url };
      // The web process starts first: it waits until the worker has stored the jobs (a client never creates one).
      const web = new NodeProcess('social-posts-web', 'examples/social-posts/web.ts', env);
      running.push(web);
      const worker = new NodeProcess('social-posts-worker', 'examples/social-posts/worker.ts', env);
      running.push(worker);
      const [webExit, workerExit] = await Promise.all([web.waitForExit(40_000), worker.waitForExit(40_000)]);
      expect(webExit, web.failure('web').message).toEqual({ code: 0, signal: null });
      expect(workerExit, worker.failure('worker').message).toEqual({ code: 0, signal: null });
      expectSocialPosts(web, worker);
      // The web process has a client, no scheduler: its app starts and stops the backend and the logger only.
      expect(hooks(web, 'hook started')).toEqual(['logger', 'backend:redis']);
      expect(web.find('scheduler started')).toEqual([]);
      expect(hooks(worker, 'hook stopped')).toEqual(['scheduler', 'executor', 'lock:redlock', 'backend:redis', 'logger']);
      expectCleanOutput(web);
      expectCleanOutput(worker);
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('cluster demo: three instances on a private Redis run every slot once, then stop with exit code 0', async () => {
    const demo = new NodeProcess('cluster-demo', 'examples/cluster/demo.ts');
    running.push(demo);
    expect(await demo.waitForExit(45_000)).toEqual({ code: 0, signal: null });
    const summary = demo.otherLines.find((line) => line.includes('slots run twice'));
    expect(summary, demo.otherLines.join('\n')).toMatch(/slots run twice: 0; exit codes 0, 0, 0/);
    expect(demo.otherLines.filter((line) => / ran on [abc]$/.test(line)).length).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('postgres demo: three instances on a private PostgreSQL run every slot once, then stop with exit code 0', async () => {
    const demo = new NodeProcess('postgres-demo', 'examples/postgres/demo.ts');
    running.push(demo);
    expect(await demo.waitForExit(60_000)).toEqual({ code: 0, signal: null });
    const summary = demo.otherLines.find((line) => line.includes('slots run twice'));
    expect(summary, demo.otherLines.join('\n')).toMatch(/slots run twice: 0; exit codes 0, 0, 0/);
    expect(demo.otherLines.filter((line) => / ran on [abc]$/.test(line)).length).toBeGreaterThanOrEqual(6);
  }, 80_000);

  it('prometheus: /metrics on 127.0.0.1 counts successes, failures and retries; SIGINT stops it with exit code 0', async () => {
    const app = new NodeProcess('prometheus', 'examples/prometheus/main.ts', { METRICS_PORT: '0' });
    running.push(app);
    const served = await app.waitForLine('metrics served', {}, 30_000);
    const url = String(served.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // sync-partner fails every 3 s and is retried once 200 ms later; refresh-cache succeeds every 2 s: wait for both.
    const deadline = Date.now() + 20_000;
    let text = '';
    while (Date.now() < deadline) {
      const response = await fetch(url);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await response.text();
      const counted = [/schedkit_retries_total\{job="sync-partner",tenant=""\} [1-9]/, /outcome="failed"\} [2-9]/, /job="refresh-cache",tenant="",outcome="success"\} [1-9]/];
      if (counted.every((pattern) => pattern.test(text))) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(text).toMatch(/schedkit_runs_total\{job="refresh-cache",tenant="",outcome="success"\} [1-9]/);
    expect(text).toMatch(/schedkit_runs_total\{job="sync-partner",tenant="",outcome="failed"\} [2-9]/);
    expect(text).toMatch(/schedkit_retries_total\{job="sync-partner",tenant=""\} [1-9]/);
    expect(text).toMatch(/# TYPE schedkit_next_run_timestamp_seconds gauge/);
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    app.signal('SIGINT');
    expect(await app.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    expect(hooks(app, 'hook stopped')[0]).toBe('metrics-server');
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

/**
 * What the social-posts example promises, read from the lines of its web role
 * (`web`) and worker role (`worker`), one process or two: every post
 * scheduled once (the repeated trigger a no-op), listed, a3 moved and g3
 * cancelled through the client; every other post published exactly once, not
 * before its time (a3 at its new time), at most 2 per second on x, one at a
 * time per tenant.
 */
function expectSocialPosts(web: NodeProcess, worker: NodeProcess): void {
  const posts = [
    ['acme', 'a1', 'x'],
    ['acme', 'a2', 'mastodon'],
    ['globex', 'g1', 'x'],
    ['globex', 'g2', 'x'],
    ['acme', 'a3', 'x'],
    ['globex', 'g3', 'mastodon'],
  ] as const;
  const dueAt = new Map<string, number>();
  for (const [tenantId, postId] of posts) {
    const scheduled = web.find('post scheduled', { tenantId, postId });
    // a1 is triggered twice with the same id: the second is a no-op.
    expect(scheduled.map((l) => l.created), postId).toEqual(postId === 'a1' ? [true, false] : [true]);
    expect(scheduled.every((l) => l.id === `post-${postId}` && l.dueAt === scheduled[0]!.dueAt)).toBe(true);
    dueAt.set(postId, Date.parse(String(scheduled[0]!.dueAt)));
  }
  expect(web.find('pending posts', { tenantId: 'acme' })[0]?.ids).toEqual(['post-a1', 'post-a2', 'post-a3']);
  expect(web.find('pending posts', { tenantId: 'globex' })[0]?.ids).toEqual(['post-g1', 'post-g2', 'post-g3']);

  // a3 moved 1.5 s later: its due time and scheduledAt follow.
  const [moved] = web.find('post moved', { postId: 'a3' });
  expect(Date.parse(String(moved!.from))).toBe(dueAt.get('a3'));
  expect(Date.parse(String(moved!.to)) - dueAt.get('a3')!).toBe(1_500);
  expect(moved!.dueAt).toBe(moved!.to);
  dueAt.set('a3', Date.parse(String(moved!.to)));
  // g3 cancelled while pending; cancelling it again answers the same.
  expect(web.find('post cancelled', { postId: 'g3' })[0]).toMatchObject({ state: 'done', outcome: 'cancelled' });
  expect(web.find('post cancelled again', { postId: 'g3' })[0]).toMatchObject({ state: 'done', outcome: 'cancelled' });

  const spans = new Map<string, { start: number; end: number }>();
  for (const [tenantId, postId, platform] of posts) {
    const published = worker.find('post published', { tenantId, postId });
    if (postId === 'g3') {
      expect(published, 'the cancelled post').toEqual([]);
      continue;
    }
    expect(published, `${tenantId}/${postId}`).toHaveLength(1);
    expect(published[0]).toMatchObject({ job: `publish-post:${platform}`, attempt: 1, platform });
    // Not early: at or after its due time (a3: its new time).
    expect(Date.parse(String(published[0]!.scheduledAt))).toBe(dueAt.get(postId));
    expect(Date.parse(String(published[0]!.startedAt))).toBeGreaterThanOrEqual(dueAt.get(postId)!);
    const [summary] = worker.find('summary', { tenantId, postId });
    expect(summary).toMatchObject({ publishCount: 1, fencingToken: published[0]!.fencingToken });
    spans.set(postId, { start: Date.parse(String(summary!.startedAt)), end: Date.parse(String(summary!.publishedAt)) });
  }
  expect(worker.find('post published')).toHaveLength(5);
  expect(worker.find('post was already published')).toEqual([]);
  expect(worker.find('stale writer refused')).toEqual([]);
  expect(worker.find('summary', { postId: 'g3' })[0]).toMatchObject({ publishCount: 0, publishedAt: null });

  // Lock group posts:acme: a1 (x) and a2 (mastodon), due together, took turns.
  const [a1, a2] = [spans.get('a1')!, spans.get('a2')!];
  expect(a1.end <= a2.start || a2.end <= a1.start, JSON.stringify({ a1, a2 })).toBe(true);
  // Rate limit platform:x (2 per second): of a1, g1 and g2, due together, the third started a second after the first.
  const xStarts = ['a1', 'g1', 'g2'].map((id) => spans.get(id)!.start).sort((a, b) => a - b);
  expect(xStarts[2]! - xStarts[0]!).toBeGreaterThanOrEqual(950);

  expect(web.find('web: every post ended as scheduled')[0]).toMatchObject({ outcomesRight: true, movedOnTime: true });
  expect(worker.find('worker: every post published once, the cancelled one never')[0]).toMatchObject({ published: 5 });
}
