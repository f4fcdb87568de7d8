/**
 * The README's measured figures, generated from the stored result files
 * (benchmarks/results/*.json): the text between `<!-- figures:performance -->`
 * and `<!-- /figures:performance -->` (README "Performance") and between
 * `<!-- figures:soak -->` and `<!-- /figures:soak -->` (the soak row of
 * "Guarantees"). Run at the end of `npm run bench`, and by hand:
 *
 *   npx tsx benchmarks/readme-figures.ts          # rewrite the README blocks
 *   npx tsx benchmarks/readme-figures.ts --check  # exit 1 when they differ
 *
 * test/examples/readme-figures.test.ts fails when the README differs from
 * what this renders, so a figure cannot drift from its result file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StoredLockRun } from './suites/lock-contention.js';
import type { PgRow } from './suites/postgres/fleet.js';
import { RESULTS_DIR, commitText, type SuiteResult } from './lib/result.js';
import type { SoakResult } from '../test/soak/result.js';

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** The stored full-run results the README quotes (quick runs never). */
export interface StoredResults {
  lock?: SuiteResult;
  fire?: SuiteResult;
  cluster?: SuiteResult;
  scale?: SuiteResult;
  postgres?: SuiteResult;
  soak?: SoakResult;
  soakDefaults?: SoakResult;
}

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

export function loadStoredResults(dir: string = RESULTS_DIR): StoredResults {
  const suite = (name: string): SuiteResult | undefined => readJson<SuiteResult>(`${dir}${name}.json`);
  const found: StoredResults = {};
  const set = <K extends keyof StoredResults>(key: K, value: StoredResults[K] | undefined): void => {
    if (value !== undefined) found[key] = value;
  };
  set('lock', suite('lock-contention'));
  set('fire', suite('fire-accuracy'));
  set('cluster', suite('cluster-throughput'));
  set('scale', suite('scale'));
  set('postgres', suite('postgres'));
  set('soak', readJson<SoakResult>(`${dir}soak.json`));
  set('soakDefaults', readJson<SoakResult>(`${dir}soak-defaults.json`));
  return found;
}

// ------------------------------------------------------------ formatting

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const x2 = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
/** Two significant digits, as the README has always quoted latencies. */
const sig = (v: number | undefined): string => {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(0);
  return v.toFixed(1);
};
const range = (values: number[], digits: number): string => {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const lo = Math.min(...finite).toFixed(digits);
  const hi = Math.max(...finite).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
};
const day = (iso: string): string => iso.slice(0, 10);

/** "measured on commit abc1234 at 2026-11-23 (fire-accuracy)". */
function measuredOn(results: Array<SuiteResult | SoakResult | undefined>): string {
  const known = results.filter((r): r is SuiteResult | SoakResult => r !== undefined);
  if (known.length === 0) return 'not measured yet';
  const groups = new Map<string, string[]>();
  for (const r of known) {
    const key = `${commitText(r)} at ${day(r.startedAt)}`;
    groups.set(key, [...(groups.get(key) ?? []), r.suite]);
  }
  return [...groups].map(([key, suites]) => `${key} (${suites.join(', ')})`).join('; ');
}

// ------------------------------------------------------------ the suites' data, as far as the README reads it

interface LatenessRow {
  contender: string;
  jobs: number;
  firesPerSec: number;
  p99Ms: number;
  cpuMsPerFire: number;
  redisCpuMsPerFire?: number;
  commandsSentPerFire?: number;
  commandsExecutedPerFire?: number;
  expected: number;
  missed: number;
  duplicates: number;
  /** Classified since the ledger counts them (older results: absent). */
  skipped?: number;
  dropped?: number;
  pending?: number;
  lost?: number;
  lateRan?: number;
}

interface ClusterRow {
  system: string;
  instances: number;
  duplicatesTotal: number;
  missed: number;
  spread: number | null;
  redisCpuUsPerRun: number;
  clientCpuUsPerRun: number;
  events?: Record<string, number>;
}

interface SequentialRow {
  impl: string;
  masters: number;
  cyclesPerSec: number;
  redisCommandsPerCycle: number;
}

interface ScaleRow {
  jobs: number;
  rssPerJob: number;
  idleCpuMsPerSec: number;
}

const fairnessOf = (run: StoredLockRun | undefined): number => (run === undefined ? NaN : Number(run.fairness));

// ------------------------------------------------------------ the Performance block

export function performanceBlock(r: StoredResults): string {
  const lateness = (r.fire?.data.lateness as LatenessRow[] | undefined) ?? [];
  const fire = (contender: string, jobs: number): LatenessRow | undefined => lateness.find((row) => row.contender === contender && row.jobs === jobs);
  const memory = fire('schedkit-memory', 1_000);
  const timeout = fire('setTimeout', 1_000);
  const croner = fire('croner', 1_000);
  const nodeCron = fire('node-cron', 1_000);
  const redis = fire('schedkit-redis', 1_000);
  const bullmq = fire('bullmq', 1_000);
  const cpu = (row: LatenessRow | undefined): number => (row === undefined ? NaN : row.cpuMsPerFire + (row.redisCpuMsPerFire ?? NaN));
  const redis10k = fire('schedkit-redis', 10_000);
  const fireIncidents = (contender: string): string => {
    const entry = ((r.fire?.data.contenders as Array<{ contender: string; result?: { incidents?: Record<string, number> } }> | undefined) ?? []).find((c) => c.contender === contender);
    const counts = Object.entries(entry?.result?.incidents ?? {}).filter(([name]) => name !== 'misfire dropped' && !name.startsWith('run:skipped'));
    if (counts.length === 0) return 'no error, outage or put-back logged (all phases)';
    return `logged over all phases: ${counts.map(([name, n]) => `${int(n)}× ${name}`).join(', ')}`;
  };
  const memory10k = fire('schedkit-memory', 10_000);

  const cluster = ((r.cluster?.data.sizes as ClusterRow[] | undefined) ?? []).filter((row) => row.system === 'schedkit');
  const bullCluster = ((r.cluster?.data.sizes as ClusterRow[] | undefined) ?? []).filter((row) => row.system === 'bullmq');
  const clusterRatios = cluster.map((s) => {
    const b = bullCluster.find((row) => row.instances === s.instances);
    return b === undefined ? NaN : (s.redisCpuUsPerRun + s.clientCpuUsPerRun) / (b.redisCpuUsPerRun + b.clientCpuUsPerRun);
  });
  const sizes = cluster.map((row) => row.instances).join(', ');
  const incidents = (rows: ClusterRow[]): string => {
    const totals = new Map<string, number>();
    for (const row of rows) for (const [name, n] of Object.entries(row.events ?? {})) totals.set(name, (totals.get(name) ?? 0) + n);
    if (totals.size === 0) return 'no error, outage or rerun logged';
    return `logged over all sizes: ${[...totals].map(([name, n]) => `${int(n)}× ${name.replace(/^error: /, 'error "').replace(/^(error ".*)$/, '$1"')}`).join(', ')}`;
  };
  const clusterDup = cluster.map((row) => row.duplicatesTotal);
  const clusterMissed = cluster.map((row) => row.missed);
  const same = (values: number[]): string => (values.every((v) => v === values[0]) ? `${values[0] ?? 'n/a'}` : values.join(' / '));
  const bullDup = bullCluster.filter((row) => row.duplicatesTotal > 0).map((row) => `${row.duplicatesTotal} duplicates at ${row.instances} instances`);

  const runs = (r.lock?.data.runs as StoredLockRun[] | undefined) ?? [];
  const lock = (impl: string, masters: number, processes: number, contenders: number, holdMs = 0): StoredLockRun | undefined =>
    runs.find((x) => x.impl === impl && x.masters === masters && x.processes === processes && x.keys === 1 && x.holdMs === holdMs && x.contenders === contenders);
  const s16 = lock('schedkit', 1, 1, 16);
  const h16 = lock('hand-written', 1, 1, 16);
  const fair64 = (impl: string): number[] => [lock(impl, 1, 1, 64, 0), lock(impl, 1, 1, 64, 1), lock(impl, 1, 4, 64, 0), lock(impl, 1, 4, 64, 1)].map(fairnessOf);
  const multi = [16, 64].map((c) => ({ c, s: lock('schedkit', 3, 4, c), red: lock('redlock', 3, 4, c) }));
  const redlockMulti = multi.every((m) => m.red !== undefined && m.red.acquisitions === 0)
    ? 'redlock: no lock granted at all'
    : `redlock: ${multi.map((m) => (m.red === undefined ? 'n/a' : int(m.red.acquisitionsPerSec))).join(' and ')} acquisitions/s, fairness ${range(multi.map((m) => fairnessOf(m.red)), 2)}`;
  const redlockSettings = r.lock?.data.settings as { redlock?: { retryCount?: number; retryDelay?: number; retryJitter?: number }; redlockMultiWindowMs?: number; windowMs?: number } | undefined;
  const rs = redlockSettings?.redlock;
  const redlockHow =
    rs === undefined
      ? ''
      : ` (retryCount ${rs.retryCount}, retryDelay ${rs.retryDelay} ms, retryJitter ${rs.retryJitter} ms; measured over ${((redlockSettings?.redlockMultiWindowMs ?? redlockSettings?.windowMs ?? NaN) / 1000).toFixed(1)} s)`;
  const violations = r.lock?.targets.find((t) => t.name === 'mutual exclusion')?.measured ?? 'n/a';
  const seq = (r.lock?.data.sequential as SequentialRow[] | undefined) ?? [];
  const seqOf = (impl: string, masters: number): SequentialRow | undefined => seq.find((x) => x.impl === impl && x.masters === masters);
  const s4 = lock('schedkit', 1, 4, 16);
  const h4 = lock('hand-written', 1, 4, 16);
  const multiRatios = [
    (seqOf('schedkit', 3)?.cyclesPerSec ?? NaN) / (seqOf('schedkit', 1)?.cyclesPerSec ?? NaN),
    ...[16, 64].flatMap((c) => [1, 4].map((p) => (lock('schedkit', 3, p, c)?.acquisitionsPerSec ?? NaN) / (lock('schedkit', 1, p, c)?.acquisitionsPerSec ?? NaN))),
  ];

  const scale = (r.scale?.data.sizes as ScaleRow[] | undefined) ?? [];
  // A size measured more than once (10k: runs a and b) is quoted as the mean of its runs.
  const scaleMean = (jobs: number, field: 'rssPerJob' | 'idleCpuMsPerSec'): number => {
    const rows = scale.filter((row) => row.jobs === jobs);
    return rows.length === 0 ? NaN : rows.reduce((sum, row) => sum + row[field], 0) / rows.length;
  };
  const fixed2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

  const tenK =
    redis10k === undefined
      ? 'not measured'
      : redis10k.lost === undefined
        ? `${int(redis10k.expected - redis10k.missed)} of ${int(redis10k.expected)} (job, slot) pairs ran; ${int(redis10k.missed)} never ran (this result predates the split into skipped by policy and lost)`
        : `${int(redis10k.expected - redis10k.missed)} of ${int(redis10k.expected)} (job, slot) pairs ran (${int(redis10k.lateRan ?? 0)} of them more than 1 s late), ${int(redis10k.skipped ?? 0)} skipped by the overlap policy, ${int(redis10k.dropped ?? 0)} by the misfire policy, ${int(redis10k.pending ?? 0)} still pending in Redis at the stop (put back, not run yet), ${int(redis10k.lost)} lost, ${int(redis10k.duplicates)} duplicated; ${fireIncidents('schedkit-redis')}`;

  const lines = [
    `_Measured on ${measuredOn([r.fire, r.cluster, r.lock, r.scale])}; ${r.fire?.machine.cpu ?? 'n/a'}, ${r.fire?.machine.cores ?? 'n/a'} cores, Node ${r.fire?.machine.node ?? 'n/a'}, ${r.fire?.machine.redis ?? 'n/a'}._`,
    '',
    '![Fire lateness at 1,000 jobs every second](benchmarks/results/lateness.svg)',
    '',
    '| at 1,000 jobs every second (schedkit with `maxConcurrent: 20000`; default 10) | schedkit | the alternative |',
    '|---|---|---|',
    `| lateness p99 (handler start − slot), one process | ${sig(memory?.p99Ms)} ms (memory backend) | setTimeout ${sig(timeout?.p99Ms)} ms, croner ${sig(croner?.p99Ms)} ms, node-cron ${sig(nodeCron?.p99Ms)} ms |`,
    `| lateness p99 on Redis, one instance | ${sig(redis?.p99Ms)} ms | BullMQ job schedulers ${sig(bullmq?.p99Ms)} ms (${x2(redis?.p99Ms ?? NaN, bullmq?.p99Ms ?? NaN)}) |`,
    `| Redis commands per run: sent / executed inside Redis | ${redis?.commandsSentPerFire?.toFixed(1) ?? 'n/a'} / ${redis?.commandsExecutedPerFire?.toFixed(0) ?? 'n/a'} | BullMQ ${bullmq?.commandsSentPerFire?.toFixed(1) ?? 'n/a'} / ${bullmq?.commandsExecutedPerFire?.toFixed(0) ?? 'n/a'} |`,
    `| client + Redis CPU per run | ${cpu(redis).toFixed(2)} ms | BullMQ ${cpu(bullmq).toFixed(2)} ms (${x2(cpu(redis), cpu(bullmq))}) |`,
    `| ${sizes} instances sharing 1,000 jobs/s (defaults but \`maxConcurrent: 100\`, default 10): duplicates, missed | ${same(clusterDup)}, ${same(clusterMissed)}${clusterDup.every((v) => v === clusterDup[0]) && clusterMissed.every((v) => v === clusterMissed[0]) ? ' at every size' : ' by size'}; spread max/min ${range(cluster.map((row) => row.spread ?? Infinity), 2)}; ${incidents(cluster)} | BullMQ: ${bullDup.length === 0 ? 'no duplicates' : bullDup.join(', ')}; spread up to ${range(bullCluster.map((row) => row.spread ?? Infinity), 2).split('–').pop()} |`,
    `| client + Redis CPU per run, ${cluster.length > 0 ? `${cluster[0]!.instances}–${cluster[cluster.length - 1]!.instances}` : 'n/a'} instances | ${range(clusterRatios, 2).replace(/(\d\.\d\d)/g, '$1x')} BullMQ's | |`,
    `| 10,000 jobs every second on Redis, one instance (${redis10k === undefined ? 'n/a' : int(redis10k.firesPerSec)} runs/s${redis10k !== undefined && redis10k.missed > 0 ? ': more than this 2-core machine sustains' : ''}, p99 ${sig(redis10k?.p99Ms)} ms) | ${tenK} | in process: ${memory10k === undefined ? 'n/a' : `${int(memory10k.firesPerSec)} runs/s, ${int(memory10k.missed)} missed`} |`,
    '',
    '![Lock throughput on one key vs contenders](benchmarks/results/lock-throughput.svg)',
    '',
    '| lock, one key | schedkit `RedlockLock` | hand-written `SET NX PX` lock / redlock |',
    '|---|---|---|',
    `| 16 contenders, one process | ${int(s16?.acquisitionsPerSec ?? NaN)} acquisitions/s, fairness ${fairnessOf(s16).toFixed(2)} | ${int(h16?.acquisitionsPerSec ?? NaN)} (${x2(s16?.acquisitionsPerSec ?? NaN, h16?.acquisitionsPerSec ?? NaN)}) / — |`,
    `| 64 contenders, fairness (max/min per contender) | ${range(fair64('schedkit'), 2)} | ${range(fair64('hand-written'), 1)} / ${range(fair64('redlock'), 1)} |`,
    `| 16 and 64 contenders in 4 processes on 3 masters | ${multi.map((m) => int(m.s?.acquisitionsPerSec ?? NaN)).join(' and ')} acquisitions/s, fairness ${range(multi.map((m) => fairnessOf(m.s)), 2)} | ${redlockMulti}${redlockHow} |`,
    `| mutual-exclusion violations | ${violations} | |`,
    '',
    '| scale (memory backend, one instance) | 10k jobs | 100k | 1M |',
    '|---|---|---|---|',
    `| resident memory per job | (fixed costs dominate) | ${int(scaleMean(100_000, 'rssPerJob'))} B | ${int(scaleMean(1_000_000, 'rssPerJob'))} B |`,
    `| idle CPU, main thread (ms per s) | ${fixed2(scaleMean(10_000, 'idleCpuMsPerSec'))} | ${fixed2(scaleMean(100_000, 'idleCpuMsPerSec'))} | ${fixed2(scaleMean(1_000_000, 'idleCpuMsPerSec'))} |`,
    '',
    'The figures [docs/performance.md](docs/performance.md) quotes, from the same results:',
    '',
    `- in process at 1,000 jobs every second, p99 lateness ${x2(memory?.p99Ms ?? NaN, timeout?.p99Ms ?? NaN)} the timer's and ${x2(memory?.p99Ms ?? NaN, croner?.p99Ms ?? NaN)} croner's; on Redis, Redis CPU per run ${int((redis?.redisCpuMsPerFire ?? NaN) * 1000)} µs;`,
    `- locks: 16 contenders in 4 processes (one master) ${x2(s4?.acquisitionsPerSec ?? NaN, h4?.acquisitionsPerSec ?? NaN)} the hand-written lock's acquisitions/s (its fairness up to ${range(fair64('hand-written'), 1).split('–').pop()}); sequential acquire + release ${x2(seqOf('schedkit', 1)?.cyclesPerSec ?? NaN, seqOf('hand-written', 1)?.cyclesPerSec ?? NaN)} of the hand-written lock (${seqOf('schedkit', 1)?.redisCommandsPerCycle.toFixed(0) ?? 'n/a'} Redis commands against ${seqOf('hand-written', 1)?.redisCommandsPerCycle.toFixed(0) ?? 'n/a'}); 3 masters ${range(multiRatios, 2).replace(/(\d\.\d\d)/g, '$1x')} of one master.`,
  ];
  return lines.join('\n');
}

// ------------------------------------------------------------ the PostgreSQL block

/** The PostgreSQL figures (suite `postgres`): every minute beside pg-boss and graphile-worker, and schedkit every second. */
export function postgresBlock(r: StoredResults): string {
  const result = r.postgres;
  if (result === undefined) return '_PostgreSQL (`npm run bench -- --suite postgres`): not measured yet (no result file)._';
  const rows = (result.data.rows as PgRow[] | undefined) ?? [];
  const pg = result.data.postgres as { version?: string; statementSource?: string } | null | undefined;
  const errors = (result.data.errors as Array<{ phase: string; error: string }> | undefined) ?? [];
  const systems = ['schedkit', 'pg-boss', 'graphile-worker'];
  const minute = (system: string, jobs: number): PgRow | undefined => rows.find((row) => row.every === 'minute' && row.system === system && row.jobs === jobs && row.windowMs > 0);
  const sizes = [...new Set(rows.filter((row) => row.every === 'minute' && row.windowMs > 0).map((row) => row.jobs))].sort((a, b) => a - b);
  const logged = (row: PgRow | undefined): string => {
    const entries = Object.entries(row?.events ?? {});
    const stopping = (name: string): string => ((row?.eventsWhileStopping?.[name] ?? 0) > 0 ? ` (${int(row!.eventsWhileStopping[name]!)} while stopping)` : '');
    return entries.length === 0 ? 'none logged' : entries.map(([name, n]) => `${int(n)}× ${name}${stopping(name)}`).join(', ');
  };
  const cell = (row: PgRow | undefined, text: (row: PgRow) => string): string => (row === undefined ? 'not measured' : text(row));
  const lines = [
    `_PostgreSQL: measured on ${measuredOn([result])}; ${pg?.version ?? 'PostgreSQL n/a'} (private server, fsync off), statements from ${pg?.statementSource ?? 'n/a'}; ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}._`,
    '',
    `| every minute (\`* * * * *\`), one instance process each, 3 slots (schedkit's defaults; graphile-worker's but \`concurrency: 10\`, default 1; pg-boss's, a queue per job) | ${systems.join(' | ')} |`,
    `|---|${systems.map(() => '---').join('|')}|`,
  ];
  for (const jobs of sizes) {
    const row = (text: string, f: (row: PgRow) => string): string => `| ${int(jobs)} jobs: ${text} | ${systems.map((system) => cell(minute(system, jobs), f)).join(' | ')} |`;
    lines.push(
      row('lateness p50 / p99', (x) => `${sig(x.lateness.p50)} / ${sig(x.lateness.p99)} ms`),
      row('database CPU per run', (x) => `${(x.dbCpuMsPerRun * 1000).toFixed(0)} µs`),
      row('statements per run, sent / executed', (x) => (x.statementsPerRun === null ? 'n/a' : `${x.statementsPerRun.toFixed(1)} / ${(x.statementsExecutedPerRun ?? NaN).toFixed(1)}`)),
      row('duplicates, missed; errors', (x) => `${x.duplicatesTotal}, ${x.missed}; ${logged(x)}`),
    );
  }
  const ratios = sizes.map((jobs) => {
    const s = minute('schedkit', jobs);
    const peers = [minute('pg-boss', jobs), minute('graphile-worker', jobs)].filter((x): x is PgRow => x !== undefined && Number.isFinite(x.lateness.p99));
    const best = peers.sort((a, b) => a.lateness.p99 - b.lateness.p99)[0];
    const boss = minute('pg-boss', jobs);
    return `${int(jobs)} jobs: lateness p99 ${x2(s?.lateness.p99 ?? NaN, best?.lateness.p99 ?? NaN)} ${best?.system ?? 'the better peer'}'s, database CPU per run ${x2(s?.dbCpuMsPerRun ?? NaN, boss?.dbCpuMsPerRun ?? NaN)} pg-boss's`;
  });
  const second = rows.filter((row) => row.every === 'second').sort((a, b) => a.instances - b.instances);
  const secondText =
    second.length === 0
      ? 'not measured'
      : `${second.map((x) => x.instances).join(' / ')} instances: p99 ${second.map((x) => sig(x.lateness.p99)).join(' / ')} ms, database CPU per run ${second.map((x) => (x.dbCpuMsPerRun * 1000).toFixed(0)).join(' / ')} µs, statements sent per run ${second.map((x) => (x.statementsPerRun === null ? 'n/a' : x.statementsPerRun.toFixed(1))).join(' / ')}, duplicates ${second.map((x) => x.duplicatesTotal).join(' / ')}, missed ${second.map((x) => x.missed).join(' / ')}; ${second.map((x) => logged(x)).join(' / ')}`;
  lines.push(
    `| schedkit every second (\`* * * * * *\`), ${int(second[0]?.jobs ?? NaN)} jobs shared by instances | ${secondText} | neither runs every second | |`,
    '',
    ratios.length === 0 ? 'schedkit against its peers: not measured.' : `schedkit against its peers: ${ratios.join('; ')}.`,
  );
  if (errors.length > 0) lines.push('', `Phases that did not complete: ${errors.map((e) => `${e.phase} (${e.error.split('\n')[0]})`).join('; ')}.`);
  return lines.join('\n');
}

// ------------------------------------------------------------ the soak row

function soakText(s: SoakResult | undefined, label: string): string {
  if (s === undefined) return `with ${label}: not measured yet (no result file)`;
  const l = s.ledger;
  const heap = l.heap.find((h) => h.instance === 'node-1.1') ?? l.heap[0];
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)}`;
  return (
    `with ${s.settingsText} (${s.ledger.windowMs / 1000}-second window; \`${s.command}\`, ${commitText(s)} at ${day(s.startedAt)}): ` +
    `${int(l.slotRuns)} of ${int(l.slotsExpected)} slot runs, ${int(l.skippedOverlap)} slots skipped by the overlap policy and ${int(l.skippedMisfire)} by the misfire policy, ` +
    `${int(l.triggerRuns)} of ${int(l.triggersAcked)} one-off runs, ${l.kills} kills (${int(l.stalled)} runs cut short and reaped as \`stalled\`, ${int(l.rerunsAfterKill)} rerun), ` +
    `${l.duplicates} duplicates, ${l.missed} missed, ${l.lost} lost, ${int(l.errors)} errors and ${int(l.outages)} outages logged, ` +
    `heap of the surviving instance ${heap === undefined ? 'n/a' : `${mb(heap.startBytes)} → ${mb(heap.endBytes)} MB`}`
  );
}

export function soakBlock(r: StoredResults): string {
  return `${soakText(r.soak, "the soak's own settings")}; ${soakText(r.soakDefaults, "the scheduler's defaults")}`;
}

// ------------------------------------------------------------ the README

const BLOCKS: Record<string, (r: StoredResults) => string> = { performance: performanceBlock, postgres: postgresBlock, soak: soakBlock };

/** The README with each `<!-- figures:x -->…<!-- /figures:x -->` block rendered from `results`. */
export function renderReadme(readme: string, results: StoredResults): string {
  let out = readme;
  for (const [name, render] of Object.entries(BLOCKS)) {
    const open = `<!-- figures:${name} -->`;
    const close = `<!-- /figures:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start === -1 || end === -1 || end < start) throw new Error(`README.md: markers ${open} … ${close} not found`);
    const body = render(results);
    // The soak block sits in a table cell: no line breaks around it.
    const inner = name === 'soak' ? body : `\n${body}\n`;
    out = `${out.slice(0, start + open.length)}${inner}${out.slice(end)}`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync(README, 'utf8');
  const rendered = renderReadme(readme, loadStoredResults());
  if (process.argv.includes('--check')) {
    if (rendered !== readme) {
      console.error('README.md figures differ from benchmarks/results/*.json: run `npx tsx benchmarks/readme-figures.ts`');
      process.exit(1);
    }
    console.log('README.md figures match the result files');
  } else {
    writeFileSync(README, rendered);
    console.log(rendered === readme ? 'README.md figures already current' : 'README.md figures rewritten from benchmarks/results/*.json');
  }
}
