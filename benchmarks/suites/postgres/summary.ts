/**
 * The postgres suite's tables and targets, from its rows: every-minute
 * figures of the three systems side by side, schedkit's ratios to its
 * peers, the every-second fleet, and the phases that did not complete.
 */
import { isIncident } from '../../lib/incidents.js';
import type { Table, Target } from '../../lib/result.js';
import { ms, ratio } from '../../lib/stats.js';
import type { PhaseError, Plan } from '../postgres.js';
import type { BenchPostgres } from './db-meter.js';
import type { PgRow } from './fleet.js';
import { CONCURRENCY, type PgSystem } from './protocol.js';

/** How each system is configured: its documented defaults, and what differs and why. */
export const PEER_SETTINGS: Record<PgSystem, string> = {
  schedkit: `defaults (maxConcurrent ${CONCURRENCY}); backend and lock share one pg.Pool of 10 connections, as postgresBackendModule makes it`,
  'pg-boss': 'defaults (pool of 10 connections, cron pass every 30 s, forwarding every 5 s in batches of 50, workers polling every 2 s); pg-boss 10 keys a schedule by its queue: one queue, schedule and worker per job',
  'graphile-worker': `defaults (pool of 10 connections, pollInterval, crontab without backfill) but concurrency ${CONCURRENCY} (default 1: one job at a time); one task, one crontab item per job`,
};

const LATENESS_TARGET = 0.2;
const CPU_TARGET = 0.5;
const FLAT_TARGET = 1.25;

export function incidentText(events: Record<string, number>, whileStopping: Record<string, number> = {}): string {
  const entries = Object.entries(events).sort(([a], [b]) => Number(isIncident(b)) - Number(isIncident(a)) || a.localeCompare(b));
  const when = (name: string, n: number): string => {
    const stopping = whileStopping[name] ?? 0;
    return stopping === 0 ? '' : stopping === n ? ' (while stopping)' : ` (${stopping} while stopping)`;
  };
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${n}× ${name}${when(name, n)}`).join(', ');
}

const logged = (r: PgRow): string => incidentText(r.events, r.eventsWhileStopping);

const perRun = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const latenessText = (r: PgRow): string => (r.runsInWindow === 0 ? 'n/a' : `${ms(r.lateness.p50)} / ${ms(r.lateness.p99)} / ${ms(r.lateness.max)}`);
const better = (a: PgRow | undefined, b: PgRow | undefined): PgRow | undefined =>
  a === undefined ? b : b === undefined ? a : a.lateness.p99 <= b.lateness.p99 || !Number.isFinite(b.lateness.p99) ? a : b;

export function postgresTables(p: Plan, rows: PgRow[], errors: PhaseError[], db: BenchPostgres | undefined): Table[] {
  const minute = rows.filter((r) => r.every === 'minute');
  const second = rows.filter((r) => r.every === 'second');
  const statementsHow = db?.statementSource === 'pg_stat_statements' ? 'statements/run sent / executed (pg_stat_statements: top-level / all)' : 'statements/run (pg_stat_statements missing: n/a)';
  const window = p.minute[0]?.windowMs ?? 0;
  const tables: Table[] = [
    {
      title:
        window === 0
          ? `Every minute (\`* * * * *\`), one instance process per system: ${p.minuteNote ?? 'smoke run'}`
          : `Every minute (\`* * * * *\`), one instance process per system, ${CONCURRENCY} runs at once, ${window / 60_000}-minute window (${window / 60_000} slots), each system on its own fresh database, one after the other`,
      columns: ['system', 'jobs', 'runs / expected', 'lateness p50 / p99 / max ms', 'ran > 1 s / > 60 s late', 'DB CPU ms/run', statementsHow, 'transactions/run', 'client CPU ms/run', 'duplicates', 'missed', 'errors, outages logged', 'start-up s'],
      rows: minute.map((r) => [
        r.system,
        r.jobs,
        r.windowMs === 0 ? `${r.runsSeen} seen (no window)` : `${r.runsInWindow} / ${r.expected}`,
        latenessText(r),
        r.windowMs === 0 ? 'n/a' : `${r.lateOver1s} / ${r.lateOver60s}`,
        perRun(r.dbCpuMsPerRun, 3),
        r.statementsPerRun === null ? 'n/a' : `${perRun(r.statementsPerRun, 2)} / ${perRun(r.statementsExecutedPerRun, 2)}`,
        perRun(r.transactionsPerRun, 2),
        perRun(r.clientCpuMsPerRun, 3),
        r.duplicatesTotal,
        r.windowMs === 0 ? 'n/a' : r.missed,
        logged(r),
        (r.startupMs / 1000).toFixed(1),
      ]),
    },
  ];
  const sizes = [...new Set(minute.filter((r) => r.windowMs > 0).map((r) => r.jobs))];
  if (sizes.length > 0) {
    tables.push({
      title: 'schedkit / its peers at the same number of jobs every minute (lower is better)',
      columns: ['jobs', 'lateness p99 vs pg-boss', 'vs graphile-worker', 'DB CPU/run vs pg-boss', 'vs graphile-worker', 'statements/run sent vs pg-boss', 'vs graphile-worker', 'transactions/run vs pg-boss', 'vs graphile-worker'],
      rows: sizes.map((jobs) => {
        const s = minute.find((r) => r.system === 'schedkit' && r.jobs === jobs);
        const b = minute.find((r) => r.system === 'pg-boss' && r.jobs === jobs);
        const g = minute.find((r) => r.system === 'graphile-worker' && r.jobs === jobs);
        const vs = (f: (r: PgRow) => number | null, peer: PgRow | undefined): string => (s === undefined || peer === undefined ? 'n/a' : ratio(f(s) ?? NaN, f(peer) ?? NaN));
        return [
          jobs,
          vs((r) => r.lateness.p99, b),
          vs((r) => r.lateness.p99, g),
          vs((r) => r.dbCpuMsPerRun, b),
          vs((r) => r.dbCpuMsPerRun, g),
          vs((r) => r.statementsPerRun, b),
          vs((r) => r.statementsPerRun, g),
          vs((r) => r.transactionsPerRun, b),
          vs((r) => r.transactionsPerRun, g),
        ];
      }),
    });
  }
  tables.push({
    title: `schedkit every second (\`* * * * * *\`, neither peer can): ${p.second.jobs.toLocaleString('en-US')} jobs shared by N instance processes (${p.second.windowMs / 1000} s window, maxConcurrent ${CONCURRENCY} each)`,
    columns: ['instances', 'runs/s', 'lateness p50 / p99 / max ms', 'DB CPU µs/run', statementsHow, 'transactions/run', 'client CPU µs/run', 'duplicates', 'missed', 'spread max/min', 'errors, outages logged'],
    rows: second.map((r) => [
      r.instances,
      r.runsPerSec.toFixed(0),
      latenessText(r),
      perRun(r.dbCpuMsPerRun * 1000, 0),
      r.statementsPerRun === null ? 'n/a' : `${perRun(r.statementsPerRun, 2)} / ${perRun(r.statementsExecutedPerRun, 2)}`,
      perRun(r.transactionsPerRun, 2),
      perRun(r.clientCpuMsPerRun * 1000, 0),
      r.duplicatesTotal,
      r.missed,
      r.spread === null ? 'inf (an instance ran nothing)' : r.spread.toFixed(2),
      logged(r),
    ]),
  });
  tables.push({
    title: 'How each system is configured',
    columns: ['system', 'settings'],
    rows: Object.entries(PEER_SETTINGS).map(([system, text]) => [system, text]),
  });
  const evicted = rows.filter((r) => r.db?.evicted === true);
  if (errors.length > 0 || evicted.length > 0) {
    tables.push({
      title: 'Phases that did not complete, and incomplete counts',
      columns: ['phase', 'what happened'],
      rows: [
        ...errors.map((e) => [e.phase, e.error.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 600)]),
        ...evicted.map((r) => [`${r.system}, ${r.jobs} jobs every ${r.every}, ${r.instances} instance(s)`, 'pg_stat_statements evicted entries during the window: statement counts are a lower bound']),
      ],
    });
  }
  return tables;
}

export function postgresTargets(rows: PgRow[], errors: PhaseError[], quick: boolean): Target[] {
  const targets: Target[] = [];
  const minute = rows.filter((r) => r.every === 'minute' && r.windowMs > 0);
  for (const jobs of [...new Set(minute.map((r) => r.jobs))]) {
    const s = minute.find((r) => r.system === 'schedkit' && r.jobs === jobs);
    const b = minute.find((r) => r.system === 'pg-boss' && r.jobs === jobs);
    const g = minute.find((r) => r.system === 'graphile-worker' && r.jobs === jobs);
    const peer = better(b, g);
    const late = s === undefined || peer === undefined ? NaN : s.lateness.p99 / peer.lateness.p99;
    targets.push({
      name: `lateness p99, ${jobs.toLocaleString('en-US')} jobs every minute, vs the better peer`,
      target: `<= ${LATENESS_TARGET}x`,
      measured: peer === undefined || s === undefined ? 'n/a (a phase did not complete)' : `${ratio(s.lateness.p99, peer.lateness.p99)} ${peer.system} (${ms(s.lateness.p99)} vs ${ms(peer.lateness.p99)} ms)`,
      met: Number.isFinite(late) && late <= LATENESS_TARGET,
    });
    const cpu = s === undefined || b === undefined ? NaN : s.dbCpuMsPerRun / b.dbCpuMsPerRun;
    targets.push({
      name: `database CPU per run, ${jobs.toLocaleString('en-US')} jobs every minute, vs pg-boss`,
      target: `<= ${CPU_TARGET}x`,
      measured: s === undefined || b === undefined ? 'n/a (a phase did not complete)' : `${ratio(s.dbCpuMsPerRun, b.dbCpuMsPerRun)} (${s.dbCpuMsPerRun.toFixed(3)} vs ${b.dbCpuMsPerRun.toFixed(3)} ms)`,
      met: Number.isFinite(cpu) && cpu <= CPU_TARGET,
    });
  }
  const second = rows.filter((r) => r.every === 'second');
  const one = second.find((r) => r.instances === 1);
  const most = second.reduce<PgRow | undefined>((a, r) => (a === undefined || r.instances > a.instances ? r : a), undefined);
  if (!quick && one !== undefined && most !== undefined && most !== one) {
    const flat = (name: string, f: (r: PgRow) => number | null, unit: string): Target => {
      const x = (f(most) ?? NaN) / (f(one) ?? NaN);
      return {
        name: `${name} per run, ${most.instances} vs 1 instance (every second)`,
        target: `<= ${FLAT_TARGET}x`,
        measured: `${Number.isFinite(x) ? x.toFixed(2) : 'n/a'}x (${perRun(f(most), 3)} vs ${perRun(f(one), 3)}${unit})`,
        met: Number.isFinite(x) && x <= FLAT_TARGET,
      };
    };
    targets.push(flat('statements sent', (r) => r.statementsPerRun, ''), flat('database CPU', (r) => r.dbCpuMsPerRun, ' ms'));
  }
  for (const r of rows) {
    const label = `${r.system}, ${r.jobs.toLocaleString('en-US')} jobs every ${r.every}, ${r.instances} instance(s)`;
    targets.push({
      name: `${label}: duplicates and missed`,
      target: '0 and 0',
      measured: `${r.duplicatesTotal} duplicates, ${r.windowMs === 0 ? 'missed not measured (smoke run)' : `${r.missed} missed`}; logged: ${logged(r)}`,
      met: r.duplicatesTotal === 0 && r.missed === 0,
    });
  }
  for (const e of errors) {
    targets.push({ name: `${e.phase}: ran to the end`, target: 'completed', measured: e.error.split('\n')[0] ?? 'failed', met: false });
  }
  return targets;
}
