import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, LOOPBACK } from './loopback.js';

/**
 * Private `redis-server` processes for tests: started from the binary on
 * PATH, on free loopback ports, never persisted, stopped by pid. Every server
 * a test file starts is also killed when the test process exits, so a failed
 * test never leaves one behind.
 */

const run = promisify(execFile);
const HOST = LOOPBACK;
const live = new Set<ChildProcess>();
const keptDirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of keptDirs) rmSync(dir, { recursive: true, force: true });
});

export interface RedisServerOptions {
  /** `requirepass` for the default user. */
  password?: string;
  /** ACL rules, one user per entry, e.g. `user app on >secret ~* &* +@all`. */
  aclUsers?: string[];
  /** Extra `redis-server` arguments. */
  args?: string[];
  /** Port to use (default: a free one). */
  port?: number;
  /**
   * Keep the data across `restart()`, as a Redis with persistence does: an
   * append-only file fsynced on every write, in a directory kept until the
   * test process exits.
   */
  persist?: boolean;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** `redis://127.0.0.1:<port>` (no credentials). */
  readonly url: string;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for its exit.
   * A `persist` server's data is deleted too, unless `keepData` (to `restart()` it later).
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Kills it at once (SIGKILL) and waits for its exit. */
  kill(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
  /** Stops it and starts it again on the same port with the same options; the data is gone unless `persist`. */
  restart(): Promise<RedisServer>;
}

/** A key prefix no other test uses. */
export function randomPrefix(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

/** Starts a private redis-server. Retries on another port if the chosen one was taken meanwhile. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port, options);
    } catch (error) {
      if (options.port !== undefined || attempt >= 5) throw error;
    }
  }
}

async function launch(port: number, options: RedisServerOptions, config?: (dir: string) => string, keptDir?: string): Promise<RedisServer> {
  const dir = keptDir ?? mkdtempSync(join(tmpdir(), 'schedkit-redis-'));
  if (options.persist === true) keptDirs.add(dir);
  const args: string[] = [];
  if (config !== undefined) {
    // A config file first (Sentinel must be able to rewrite its own).
    const file = join(dir, 'redis.conf');
    writeFileSync(file, config(dir));
    args.push(file);
  }
  const persistence = options.persist === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  args.push('--port', String(port), '--bind', HOST, '--save', '', ...persistence, '--dir', dir, '--loglevel', 'warning');
  if (options.password !== undefined) args.push('--requirepass', options.password);
  if (options.aclUsers !== undefined && options.aclUsers.length > 0) {
    const aclFile = join(dir, 'users.acl');
    writeFileSync(aclFile, `${options.aclUsers.join('\n')}\n`);
    args.push('--aclfile', aclFile);
  }
  args.push(...(options.args ?? []));
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    live.delete(child);
    if (options.persist !== true) rmSync(dir, { recursive: true, force: true });
  });

  await waitUntilReady(port, options, exited, () => output);
  const server: RedisServer = {
    host: HOST,
    port,
    pid: child.pid!,
    url: `redis://${HOST}:${port}`,
    async stop(stopOptions: { keepData?: boolean } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (options.persist === true && stopOptions.keepData !== true) {
        rmSync(dir, { recursive: true, force: true });
        keptDirs.delete(dir);
      }
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async restart() {
      await server.stop({ keepData: true });
      return launch(port, options, config, options.persist === true ? dir : undefined);
    },
  };
  return server;
}

/** Pings until the server answers, the process dies, or 10 s pass. */
async function waitUntilReady(port: number, options: RedisServerOptions, exited: Promise<void>, output: () => string): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 10_000;
  const auth = options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning'];
  while (Date.now() < deadline) {
    if (dead) throw new Error(`redis-server on port ${port} exited at start:\n${output()}`);
    try {
      const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...auth, 'PING'], { timeout: 2_000 });
      // PONG, or an auth error from a server whose default user is off: either way it answers.
      if (stdout.trim() !== '') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output()}`);
}

/** Several independent masters (a Redlock quorum). */
export async function startMasters(count: number, options: RedisServerOptions = {}): Promise<RedisServer[]> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startRedis(options));
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}

export interface RedisCluster {
  readonly nodes: RedisServer[];
  readonly startupNodes: Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/** A Redis Cluster of `masters` nodes (no replicas), all slots assigned and the state `ok`. */
export async function startCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${randomBytes(4).toString('hex')}.conf`, '--cluster-node-timeout', '2000'] }));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        nodes.map((n) => run('redis-cli', ['-h', HOST, '-p', String(n.port), 'CLUSTER', 'INFO'], { timeout: 2_000 }).then((r) => r.stdout)),
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((n) => ({ host: HOST, port: n.port })), stop };
}

export interface RedisSentinel {
  readonly host: string;
  /** The Sentinel's port (connect with `sentinels: [{ host, port }]`, `name: masterName`). */
  readonly port: number;
  readonly masterName: string;
  readonly master: RedisServer;
  stop(): Promise<void>;
}

/** A master and one Sentinel monitoring it (quorum 1). */
export async function startSentinel(masterName = 'mymaster'): Promise<RedisSentinel> {
  const master = await startRedis();
  try {
    const port = await freePort();
    const sentinel = await launch(port, { args: ['--sentinel'] }, () =>
      [`sentinel monitor ${masterName} ${HOST} ${master.port} 1`, `sentinel down-after-milliseconds ${masterName} 5000`, ''].join('\n'),
    );
    return {
      host: HOST,
      port,
      masterName,
      master,
      async stop() {
        await sentinel.stop();
        await master.stop();
      },
    };
  } catch (error) {
    await master.stop();
    throw error;
  }
}
