import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/program.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { until } from '../helpers/fixtures.js';
import { NodeProcess } from '../helpers/node-process.js';
import { redisInstance, type RedisInstance } from '../helpers/redis-scheduler.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';

// The CLI against a real redis-server, beside a worker (a scheduler in this
// process) that registered the jobs: most commands run in process through
// `runCli` (what the binary calls), a few through the executable itself.

let redis: RedisServer;
let worker: RedisInstance<never, never>;
const prefix = randomPrefix('cli');
const greeted: unknown[] = [];
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

beforeAll(async () => {
  redis = await startRedis();
  worker = (await redisInstance({ url: redis.url, prefix })) as unknown as RedisInstance<never, never>;
  const scheduler: Scheduler = worker.scheduler;
  await scheduler.register({ name: 'nightly-export', schedule: '0 3 * * *', handler: () => {} });
  await scheduler.register({ name: 'greet', tenantId: 'acme', handler: (ctx) => void greeted.push(ctx.params) });
  await scheduler.register({ name: 'obsolete', handler: () => {} });
  await scheduler.start();
});

afterAll(async () => {
  await worker?.close();
  await redis?.stop();
});

const running: NodeProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
});

/** Runs the executable (`node --import tsx cli/main.ts`, what the package's bin runs once built). */
function executable(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...argv], { cwd: REPO_ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      if (code === null) reject(error!);
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI in process; resolves to its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv, '--redis', redis.url, '--prefix', prefix], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('schedkit CLI on Redis', () => {
  it('jobs list: a table for people and JSON for scripts', async () => {
    const listed = await cli('jobs', 'list');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JOB\s+TENANT\s+STATUS\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+RUNS\s+FAILED\s+LAST ERROR$/);
    expect(lines.find((l) => l.startsWith('nightly-export'))).toMatch(/scheduled\s+cron 0 3 \* \* \*\s+\d{4}-\d\d-\d\dT03:00:00\.000Z/);
    const json = await cli('jobs', 'list', '--json');
    const jobs = JSON.parse(json.stdout) as Array<{ name: string; tenantId: string | null; nextRunAt: string | null }>;
    expect(jobs.map((j) => `${j.tenantId ?? ''}/${j.name}`).sort()).toEqual(['/nightly-export', '/obsolete', 'acme/greet']);
    expect(jobs.find((j) => j.name === 'greet')?.nextRunAt).toBeNull();
    const acme = JSON.parse((await cli('jobs', 'list', '--tenant', 'acme', '--json')).stdout) as unknown[];
    expect(acme).toHaveLength(1);
  });

  it('jobs trigger runs a job with its params; history shows the run', async () => {
    const triggered = await cli('jobs', 'trigger', 'greet', '--tenant', 'acme', '--params', '{"who":"cli"}', '--id', 'hello-1');
    expect(triggered.code).toBe(0);
    expect(triggered.stdout).toMatch(/^triggered greet: run hello-1, due \d{4}-/);
    await until('the worker ran it', () => greeted.length === 1);
    expect(greeted[0]).toEqual({ who: 'cli' });
    const again = await cli('jobs', 'trigger', 'greet', '--tenant', 'acme', '--id', 'hello-1');
    expect(again.stdout).toMatch(/already exists .* nothing enqueued/);
    const history = JSON.parse((await cli('jobs', 'history', 'greet', '--tenant', 'acme', '--json')).stdout) as Array<{ id: string; outcome: string }>;
    expect(history[0]).toMatchObject({ id: 'hello-1', outcome: 'success' });
    expect((await cli('jobs', 'history', 'greet', '--tenant', 'acme')).stdout).toMatch(/success\s+1\s+\d+ ms\s+/);
  });

  it('jobs pause / resume change the status every instance reads', async () => {
    expect((await cli('jobs', 'pause', 'nightly-export')).stdout).toBe('paused nightly-export\n');
    expect((await cli('jobs', 'show', 'nightly-export')).stdout).toMatch(/^status:\s+paused$/m);
    expect((await cli('jobs', 'resume', 'nightly-export')).stdout).toBe('resumed nightly-export\n');
    const shown = JSON.parse((await cli('jobs', 'show', 'nightly-export', '--json')).stdout) as { status: string };
    expect(shown.status).toBe('scheduled');
  });

  it('runs list / reschedule / cancel / show manage a pending one-off run', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    expect((await cli('jobs', 'trigger', 'greet', '--tenant', 'acme', '--id', 'later-1', '--at', at)).code).toBe(0);
    const listed = await cli('runs', 'list', '--tenant', 'acme', '--state', 'pending');
    expect(listed.stdout).toMatch(new RegExp(`^later-1\\s+greet\\s+acme\\s+trigger\\s+pending\\s+${at.replace(/\./g, '\\.')}`, 'm'));
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const moved = await cli('runs', 'reschedule', 'later-1', '--tenant', 'acme', '--at', later, '--json');
    expect(JSON.parse(moved.stdout)).toMatchObject({ id: 'later-1', state: 'pending', dueAt: later });
    const cancelled = await cli('runs', 'cancel', 'later-1', '--tenant', 'acme');
    expect(cancelled.stdout).toMatch(/^cancelled later-1\n/);
    const shown = JSON.parse((await cli('runs', 'show', 'later-1', '--tenant', 'acme', '--json')).stdout) as { outcome: string };
    expect(shown.outcome).toBe('cancelled');
    expect(greeted).not.toContainEqual(undefined);
  });

  it('jobs remove deletes a stored job; a second remove is an error', async () => {
    expect((await cli('jobs', 'remove', 'obsolete')).stdout).toBe('removed obsolete\n');
    expect((await cli('jobs', 'show', 'obsolete')).code).toBe(1);
    const again = await cli('jobs', 'remove', 'obsolete');
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toMatch(/^schedkit jobs remove: E_JOB_NOT_FOUND: no job "obsolete"/);
  });

  it('exit codes: 1 for an error, 2 for a usage error, 0 for help', async () => {
    expect(await cli('jobs', 'show', 'nope')).toMatchObject({ code: 1, stdout: '' });
    expect((await cli('jobs', 'trigger', 'nope')).stderr).toMatch(/E_JOB_NOT_FOUND/);
    expect((await cli('jobs', 'trigger', 'greet', '--params', '{bad')).code).toBe(2);
    expect((await cli('jobs', 'list', '--bogus')).code).toBe(2);
    expect((await cli('jobs', 'show')).stderr).toMatch(/jobs show takes <name>, got none/);
    expect((await cli('runs', 'list', '--state', 'sleeping')).code).toBe(2);
    expect((await cli('runs', 'list', '--limit', '0')).code).toBe(2);
    expect((await cli('migrate')).stderr).toMatch(/migrate is for PostgreSQL/);
    expect((await cli('jobs', 'list', '--schema', 'x')).code).toBe(2);
    const noStore = await runCli(['jobs', 'list'], { stdout: { write: () => true }, stderr: { write: () => true }, env: {} });
    expect(noStore).toBe(2);
    for (const argv of [['--help'], ['jobs', '--help'], ['runs', 'cancel', '--help'], ['migrate', '-h']]) {
      let out = '';
      expect(await runCli(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, env: {} })).toBe(0);
      expect(out).toMatch(/^Usage: schedkit /);
    }
  });

  it('a stored string with control characters does not break the table', async () => {
    const { SchedkitError } = await import('../../src/errors/schedkit-error.js');
    await worker.scheduler.register({ name: 'noisy', handler: () => Promise.reject(new SchedkitError('E_HANDLER', 'line one\nline two\u001b[31m')) , retry: false });
    await worker.scheduler.trigger('noisy');
    const deadline = Date.now() + 10_000;
    let table = '';
    while (Date.now() < deadline) {
      table = (await cli('jobs', 'list')).stdout;
      if (/noisy.*line one/.test(table)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const row = table.split('\n').find((l) => l.startsWith('noisy'))!;
    expect(row).toMatch(/line one line two \[31m$/);
  });

  it('dashboard serves the jobs on 127.0.0.1 until told to stop', async () => {
    let stdout = '';
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const exited = runCli(['dashboard', '--port', '0', '--token', 'cli-dashboard-token-01', '--redis', redis.url, '--prefix', prefix], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: {},
      stopped: () => stopped,
    });
    await until('the dashboard listens', () => stdout.includes('dashboard on '));
    const url = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
    expect(url).toBeDefined();
    expect(stdout).toMatch(/changes need the token/);
    expect(await (await fetch(url!)).text()).toContain('nightly-export');
    stop();
    expect(await exited).toBe(0);
    await expect(fetch(url!)).rejects.toThrow();
  });

  it('the executable: jobs list --json on stdout with exit code 0; exit code 2 and a hint for an unknown command', async () => {
    const listed = await executable(['jobs', 'list', '--json', '--redis', redis.url, '--prefix', prefix]);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((j) => j.name)).toContain('nightly-export');
    const unknown = await executable(['jobz']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/unknown command "jobz"[\s\S]*schedkit --help/);
  }, 30_000);

  it('the executable: schedkit run <module> runs the app until SIGTERM, then exits 0', async () => {
    const app = new NodeProcess('cli-run', 'cli/main.ts', {}, ['run', 'test/cli/app-fixture.ts']);
    running.push(app);
    await app.waitForLine('tick', { job: 'tick' }, 20_000);
    app.signal('SIGTERM');
    expect(await app.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    expect(app.find('hook stopped').map((l) => l.hook)).toContain('scheduler');
  }, 40_000);

  it('the executable: schedkit run with a module that exports no container is an error (exit 1)', async () => {
    const result = await executable(['run', 'test/cli/cli-redis.test.ts']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/E_CONFIG: .*(could not import|must export default)/);
  }, 30_000);
});
