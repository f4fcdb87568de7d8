import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPostgresBin, INSTALL_HINT } from '../../scripts/postgres-bin.mjs';
import { freePort, LOOPBACK } from './loopback.js';

/**
 * Private PostgreSQL clusters for tests, never a shared server: the server
 * binaries of the highest major under /usr/lib/postgresql/<major>/bin
 * (Debian's `postgresql` package; else `initdb` and `postgres` on PATH), a
 * temporary directory holding the data directory and the unix socket,
 * `initdb` and then `postgres` itself (not `pg_ctl`, which daemonizes: the
 * postmaster is our child, stopped by its pid) on a free port of 127.0.0.1.
 *
 * - Authentication: `trust`, for the superuser `postgres`, over 127.0.0.1 and
 *   the socket in the temporary directory only (pg_hba.conf has nothing else,
 *   and the server listens on nothing else). Throw-away clusters: anyone who
 *   can reach the machine's loopback can use one while it runs.
 * - As root: initdb and postgres refuse to run as root, so both run as the
 *   package's `postgres` system user, which owns the temporary directory.
 * - Speed over durability: fsync, synchronous_commit and full_page_writes
 *   are off (the data is deleted at stop anyway).
 *
 * Every cluster a test file starts is also stopped (immediate shutdown) and
 * its directory deleted when the test process exits.
 */

const run = promisify(execFile);
const USER = 'postgres';
const DATABASE = 'postgres';
const INITDB_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  // SIGQUIT: immediate shutdown, the postmaster ends its backends too.
  for (const child of live) {
    child.kill('SIGCONT');
    child.kill('SIGQUIT');
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The postmaster's pid (a new one after `restart()`). */
  readonly pid: number;
  /** The superuser (no password: trust on loopback). */
  readonly user: string;
  /** The database that is always there (`postgres`); tests make their own with `createDatabase()`. */
  readonly database: string;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** The temporary directory: the data directory (`data/`) and the unix socket are inside. */
  readonly dir: string;
  /** The directory of the server binaries used (e.g. /usr/lib/postgresql/15/bin). */
  readonly binDir: string;
  /** A new empty database, named `<label>_<random hex>`, and its URL. */
  createDatabase(label?: string): Promise<{ database: string; url: string }>;
  /** Fast shutdown (SIGINT), SIGKILL after 10 s; waits for the exit, then deletes the directory. */
  stop(): Promise<void>;
  /**
   * Stops the server (`fast`: SIGINT, its sessions end; `immediate`: SIGQUIT,
   * as a crash would) and starts it again on the same port and data; resolves
   * once it accepts connections. `downMs`: how long it stays down between.
   */
  restart(options?: { mode?: 'fast' | 'immediate'; downMs?: number }): Promise<void>;
  /** SIGSTOP to the postmaster and every process it started: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT to the processes `freeze()` stopped. */
  thaw(): void;
}

/** What a test may add to a cluster: server settings (`name=value`), pg_hba.conf lines, files put in the data directory before start. */
export interface PostgresServerOptions {
  settings?: string[];
  /** Lines placed before the default trust lines of pg_hba.conf (first match wins). */
  hba?: string[];
  /** File name (in the data directory) → contents, written before the server starts (certificates, keys). */
  files?: Record<string, string>;
}

/** The uid and gid the server runs as when we are root: the `postgres` system user's. */
async function serverOwner(): Promise<Owner | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error(
      `running as root and there is no '${USER}' system user to run initdb and postgres as (both refuse to run as root). ` +
        `Debian's postgresql package creates it (apt-get install -y postgresql); or run the tests as a non-root user.`,
    );
  }
}

/** Starts a private cluster. Retries on another port if the chosen one was taken meanwhile. */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = findPostgresBin();
  if (binDir === null) throw new Error(`PostgreSQL server binaries (initdb, postgres) not found.\n${INSTALL_HINT}`);
  const owner = await serverOwner();
  const dir = mkdtempSync(join(tmpdir(), 'schedkit-pg-'));
  dirs.add(dir);
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
    await initdb(binDir, dir, owner, options);
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch({ binDir, dir, port: await freePort(), owner, settings: options.settings ?? [] }, remove);
      } catch (error) {
        if (attempt >= 5 || !(error instanceof PortTaken)) throw error;
      }
    }
  } catch (error) {
    remove();
    throw error;
  }
}

async function initdb(binDir: string, dir: string, owner: Owner | undefined, options: PostgresServerOptions): Promise<void> {
  const data = join(dir, 'data');
  const args = ['-D', data, '-U', USER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'];
  try {
    await run(join(binDir, 'initdb'), args, { cwd: dir, timeout: INITDB_TIMEOUT_MS, env: { ...process.env, LC_ALL: 'C' }, ...owner });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`initdb ${data} failed: ${(error as Error).message}\n${stdout}${stderr}`);
  }
  // Only the loopback address the server listens on and its private socket (initdb's also allows ::1 and replication).
  const hba = ['# schedkit test cluster', ...(options.hba ?? []), 'local all all trust', `host all all ${LOOPBACK}/32 trust`, ''];
  writeFileSync(join(data, 'pg_hba.conf'), hba.join('\n'));
  for (const [name, contents] of Object.entries(options.files ?? {})) {
    const file = join(data, name);
    // The server refuses a private key others can read.
    writeFileSync(file, contents, { mode: 0o600 });
    if (owner !== undefined) chownSync(file, owner.uid, owner.gid);
  }
}

type Owner = { uid: number; gid: number };

interface Launch {
  binDir: string;
  dir: string;
  port: number;
  owner: Owner | undefined;
  settings: string[];
}

/** A running postmaster: our child, its output's last 64 KiB, and its exit. */
interface Postmaster {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
}

function spawnPostmaster({ binDir, dir, port, owner, settings }: Launch): Postmaster {
  const all = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'shared_buffers=32MB', 'lc_messages=C', ...settings];
  const args = ['-D', join(dir, 'data'), '-p', String(port), '-h', LOOPBACK, '-k', dir, ...all.flatMap((s) => ['-c', s])];
  const child = spawn(join(binDir, 'postgres'), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...owner });
  live.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  return { child, exited, output: () => output };
}

/** Signals the postmaster and waits for its exit, SIGKILL after 10 s. */
async function shutDown(postmaster: Postmaster, signal: 'SIGINT' | 'SIGQUIT'): Promise<void> {
  const { child, exited } = postmaster;
  if (child.exitCode !== null || child.signalCode !== null) return;
  // A frozen server would never act on the signal.
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The pids of `pid`'s children, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

class PortTaken extends Error {}

async function launch(options: Launch, remove: () => void): Promise<PostgresServer> {
  const url = `postgresql://${USER}@${LOOPBACK}:${options.port}`;
  const ready = async (postmaster: Postmaster): Promise<void> => {
    try {
      await waitUntilReady(`${url}/${DATABASE}`, postmaster.exited, postmaster.output);
    } catch (error) {
      if (postmaster.child.exitCode === null && postmaster.child.signalCode === null) postmaster.child.kill('SIGKILL');
      await postmaster.exited;
      if (/could not bind|already in use/i.test(postmaster.output())) throw new PortTaken(`port ${options.port} taken:\n${postmaster.output()}`);
      throw error;
    }
  };
  let postmaster = spawnPostmaster(options);
  await ready(postmaster);
  let frozen: number[] = [];
  return {
    host: LOOPBACK,
    port: options.port,
    get pid() {
      return postmaster.child.pid!;
    },
    user: USER,
    database: DATABASE,
    url: `${url}/${DATABASE}`,
    dir: options.dir,
    binDir: options.binDir,
    async createDatabase(label = 't') {
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(label)) throw new Error(`database label ${JSON.stringify(label)}: lower-case letters, digits and _ only`);
      const database = `${label}_${randomBytes(5).toString('hex')}`;
      const client = new pg.Client({ connectionString: `${url}/${DATABASE}`, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } finally {
        await client.end();
      }
      return { database, url: `${url}/${database}` };
    },
    async stop() {
      await shutDown(postmaster, 'SIGINT');
      remove();
    },
    async restart({ mode = 'fast', downMs = 0 } = {}) {
      frozen = [];
      await shutDown(postmaster, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      postmaster = spawnPostmaster(options);
      await ready(postmaster);
    },
    freeze() {
      // The postmaster first, so it forks no backend after its children are
      // listed (one forked in between would go on answering queries); then
      // its children, listed until no new one shows.
      const pid = postmaster.child.pid!;
      process.kill(pid, 'SIGSTOP');
      frozen = [pid];
      for (let round = 0; round < 10; round++) {
        const fresh = childrenOf(pid).filter((child) => !frozen.includes(child));
        if (fresh.length === 0) break;
        for (const child of fresh) {
          try {
            process.kill(child, 'SIGSTOP');
            frozen.push(child);
          } catch {
            // exited meanwhile
          }
        }
      }
    },
    thaw() {
      for (const each of frozen) {
        try {
          process.kill(each, 'SIGCONT');
        } catch {
          // gone
        }
      }
      frozen = [];
    },
  };
}

/** Connects and runs SELECT 1 until it works, the postmaster dies, or 15 s pass. */
async function waitUntilReady(url: string, exited: Promise<void>, output: () => string): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`postgres (${url}) exited at start:\n${output()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      // not listening yet, or "the database system is starting up"
      last = error;
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`postgres (${url}) did not accept connections within ${READY_TIMEOUT_MS / 1000} s (last: ${String(last)}):\n${output()}`);
}
