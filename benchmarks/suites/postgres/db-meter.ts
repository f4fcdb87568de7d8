/**
 * The suite's private PostgreSQL server and what it reads from it: the CPU
 * of every server process, and the statements and transactions each
 * system's database ran.
 *
 * - **CPU**: the postmaster and every process it started (backends,
 *   autovacuum, checkpointer, walwriter ...), user + system time from
 *   /proc/<pid>/stat, plus the children's time the postmaster has reaped
 *   (`cutime`/`cstime`): a backend that exits mid-window still counts. The
 *   tree's total only grows, so a window is the difference of two readings.
 *   Linux only; CLK_TCK from `getconf`.
 * - **Statements**: `pg_stat_statements` loaded at start
 *   (`shared_preload_libraries`, `pg_stat_statements.track=all`): calls of
 *   top-level statements (what a client sends: a plpgsql function call is
 *   one) and of all statements (those run inside functions too), for one
 *   database. Where the module is missing, only transactions are counted.
 * - **Transactions**: `xact_commit + xact_rollback` of `pg_stat_database`
 *   (backends report them at most once a second while busy, so a reading
 *   can lag by about that much).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBin } from '../../../scripts/postgres-bin.mjs';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres-server.js';

export type StatementSource = 'pg_stat_statements' | 'pg_stat_database only';

export interface BenchPostgres {
  readonly server: PostgresServer;
  /** A client on the `postgres` database: never on a measured one, so its own queries are not counted against a system. */
  readonly admin: pg.Client;
  readonly statementSource: StatementSource;
  /** `SELECT version()`, shortened: "PostgreSQL 15.x". */
  readonly version: string;
  /** The settings the server was started with, beyond the test clusters' own (fsync, synchronous_commit, full_page_writes off). */
  readonly settings: string[];
}

const STATEMENT_SETTINGS = [
  'shared_preload_libraries=pg_stat_statements',
  'pg_stat_statements.track=all',
  // Room for every distinct statement of the three systems (pg-boss 10 creates a partition per queue: DDL statements by the thousand at registration); an evicted entry would lose its counts (checked: `dealloc`).
  'pg_stat_statements.max=20000',
];

/** Starts the server, with pg_stat_statements when the package has it, and connects the admin client. */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const bin = findPostgresBin();
  const hasStatements = bin !== null && existsSync(join(bin, '..', 'lib', 'pg_stat_statements.so'));
  const settings = hasStatements ? STATEMENT_SETTINGS : [];
  const server = await startPostgres({ settings });
  const admin = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    if (hasStatements) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const version = String((await admin.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? 'unknown').split(' ').slice(0, 2).join(' ');
    return { server, admin, statementSource: hasStatements ? 'pg_stat_statements' : 'pg_stat_database only', version, settings };
  } catch (error) {
    await admin.end().catch(() => undefined);
    await server.stop();
    throw error;
  }
}

export async function stopBenchPostgres(db: BenchPostgres | undefined): Promise<void> {
  if (db === undefined) return;
  await db.admin.end().catch(() => undefined);
  await db.server.stop();
}

/** A fresh database for one system's phase; `drop` removes it (and ends any session still on it). */
export async function freshDatabase(db: BenchPostgres, label: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const { database, url } = await db.server.createDatabase(label);
  return {
    name: database,
    url,
    drop: async () => {
      await db.admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
  };
}

/** What a database and the whole server had done by one instant. */
export interface DbReading {
  at: number;
  /** CPU of every server process so far, ms. */
  cpuMs: number;
  /** Top-level and all statements of the database (undefined without pg_stat_statements). */
  statements?: { top: number; all: number };
  transactions: number;
  /** Entries pg_stat_statements evicted so far: a change inside a window means its counts are incomplete. */
  dealloc?: number;
}

export async function readDb(db: BenchPostgres, database: string): Promise<DbReading> {
  const at = Date.now();
  const cpuMs = serverCpuMs(db.server.pid);
  const xact = await db.admin.query<{ n: string }>('SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1', [database]);
  const reading: DbReading = { at, cpuMs, transactions: Number(xact.rows[0]?.n ?? NaN) };
  if (db.statementSource === 'pg_stat_statements') {
    // pg_stat_statements(false): the counters without reading every statement's text.
    const calls = await db.admin.query<{ top: string; all: string }>(
      `SELECT coalesce(sum(calls) FILTER (WHERE toplevel), 0)::text AS top, coalesce(sum(calls), 0)::text AS all
         FROM pg_stat_statements(false) WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`,
      [database],
    );
    const info = await db.admin.query<{ dealloc: string }>('SELECT dealloc::text AS dealloc FROM pg_stat_statements_info');
    reading.statements = { top: Number(calls.rows[0]?.top ?? NaN), all: Number(calls.rows[0]?.all ?? NaN) };
    reading.dealloc = Number(info.rows[0]?.dealloc ?? NaN);
  }
  return reading;
}

/** What happened between two readings. */
export interface DbDelta {
  cpuMs: number;
  statementsTop?: number;
  statementsAll?: number;
  transactions: number;
  /** pg_stat_statements evicted entries meanwhile: statement counts are a lower bound. */
  evicted: boolean;
}

export function dbDelta(before: DbReading, after: DbReading): DbDelta {
  const delta: DbDelta = { cpuMs: after.cpuMs - before.cpuMs, transactions: after.transactions - before.transactions, evicted: (after.dealloc ?? 0) !== (before.dealloc ?? 0) };
  if (before.statements !== undefined && after.statements !== undefined) {
    delta.statementsTop = after.statements.top - before.statements.top;
    delta.statementsAll = after.statements.all - before.statements.all;
  }
  return delta;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime, stime, cutime, cstime of a process, in clock ticks; undefined once it is gone. */
function processTicks(pid: number): { own: number; reaped: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number): number => Number(fields[i] ?? 0);
    return { ppid: n(1), own: n(11) + n(12), reaped: n(13) + n(14) };
  } catch {
    return undefined;
  }
}

/** CPU (ms) the postmaster `pid` and every process it started have used, exited ones included. */
export function serverCpuMs(pid: number): number {
  const root = processTicks(pid);
  if (root === undefined) return NaN;
  let ticks = root.own + root.reaped;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const child = processTicks(Number(entry));
    if (child !== undefined && child.ppid === pid) ticks += child.own + child.reaped;
  }
  return (ticks * 1000) / clockTicks();
}
