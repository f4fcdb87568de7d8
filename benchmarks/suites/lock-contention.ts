import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { commandStats, redisCpuSeconds, startMasters, type RedisServer } from '../lib/redis.js';
import { machine, type Check, type SuiteResult, type Table, type Target } from '../lib/result.js';
import { fairness as fairnessOf, ms, percentile } from '../lib/stats.js';
import { checkExclusion, contend, monoMs, sequential, type ContendOutcome, type ContendSpec, type ExclusionReport } from './lock/contend.js';
import { ContenderPool } from './lock/contender-pool.js';
import { pinCpus, type CpuLayout } from './lock/cpu-pinning.js';
import { HAND_WRITTEN_RETRY, IMPLS, openLock, REDLOCK_RETRY, REDLOCK_RETRY_WINDOW_MS, SCHEDKIT_WAIT_MS, TTL_MS, type Impl, type LockSpec } from './lock/locks.js';

/**
 * SPEC §11.1 — lock contention. schedkit's `RedlockLock` (waiting acquire),
 * a hand-written `SET NX PX` + Lua compare-and-delete lock with a sleep/jitter
 * retry loop, and redlock 5 used directly with its default retry settings, side by
 * side in one run on the same private redis-servers:
 *  - sequential acquire+release with one client (cycles/s, latency);
 *  - C contenders (1, 4, 16, 64) in one process and across 4 processes, on 1
 *    key and on 1,000 keys (picked at random), holding 0 ms (one event-loop
 *    turn) or 1 ms: acquisitions/s, wait p50/p99, fairness (max/min
 *    acquisitions per contender in a window, the worst of the rounds),
 *    Redis commands, Redis CPU and client CPU per acquisition, and mutual
 *    exclusion (a holder
 *    counter per key inside the critical section, plus every holding interval
 *    of every process checked for overlaps on one monotonic clock; schedkit's
 *    fencing tokens must increase in holding order);
 *  - RedlockLock and redlock on 3 masters.
 * redis-servers and Node processes are pinned to separate CPUs (see
 * cpu-pinning.ts). Full mode takes about 10 minutes; quick mode is a bounded
 * subset (about 20 s).
 */

const SUITE = 'lock-contention';
const PROCESSES = 4;
const MANY_KEYS = 1_000;

/**
 * Other work on a small machine comes in bursts of seconds, so every
 * comparison is cut into rounds, the implementations interleaved (their order
 * rotated): a burst then hits them alike instead of deciding the ratio.
 */
interface Timing {
  warmupMs: number;
  /** One measured window; a case is measured `rounds` times. */
  windowMs: number;
  rounds: number;
  drainMs: number;
  sequentialRounds: number;
  sequentialSliceMs: number;
  /**
   * The window of redlock on several masters across processes, where split
   * votes make each acquire retry for up to its whole retry window (3 s with
   * the defaults): several retry windows long, so a "no lock granted" is
   * redlock's behaviour, not a window shorter than one acquire.
   */
  redlockMultiWindowMs: number;
}

const FULL: Timing = {
  warmupMs: 500,
  windowMs: 2_500,
  rounds: 2,
  drainMs: 15_000,
  sequentialRounds: 10,
  sequentialSliceMs: 500,
  redlockMultiWindowMs: 5 * REDLOCK_RETRY_WINDOW_MS,
};
const QUICK: Timing = {
  warmupMs: 250,
  windowMs: 1_500,
  rounds: 1,
  drainMs: 8_000,
  sequentialRounds: 4,
  sequentialSliceMs: 200,
  redlockMultiWindowMs: 5 * REDLOCK_RETRY_WINDOW_MS,
};

/** The measured window of one implementation on one case (see `redlockMultiWindowMs`). */
function windowOf(impl: Impl, c: Case, timing: Timing): number {
  return impl === 'redlock' && c.masters > 1 && c.processes > 1 ? timing.redlockMultiWindowMs : timing.windowMs;
}

interface Case {
  masters: number;
  processes: number;
  keys: number;
  holdMs: number;
  contenders: number;
}

interface Group {
  case: Case;
  impls: Impl[];
}

interface SequentialCase {
  impl: Impl;
  masters: number;
}

/** One point of the "lock throughput vs contenders" chart. */
export interface ThroughputPoint extends Case {
  impl: Impl;
  acquisitionsPerSec: number;
  p50WaitMs: number;
  p99WaitMs: number;
  /** max/min acquisitions per contender; Infinity when one got none. */
  fairness: number;
  violations: number;
}

/** One measured run; stored in the result file's `data.runs` as `StoredLockRun`. */
export interface RunResult extends ThroughputPoint {
  acquisitions: number;
  minPerContender: number;
  maxPerContender: number;
  /** Longest wait still going on when the window closed (a contender left waiting), ms. */
  maxPendingWaitMs: number;
  exclusion: ExclusionReport;
  acquireErrors: number;
  /** Acquires that gave up without holding (redlock's retries ran out: "no lock granted"). */
  gaveUp: number;
  /** The measured window of each round. */
  windowMs: number;
  releaseErrors: number;
  firstError: string | undefined;
  stuck: number;
  /** Per holding (every acquisition of the run, warm-up and drain included): commands Redis executed (scripts' inner calls included), on all masters. */
  redisCommandsPerAcq: number;
  /** Per holding: Redis CPU (all masters), µs. */
  redisCpuUsPerAcq: number;
  /** Per holding: CPU of the contending Node process(es), µs. */
  clientCpuUsPerAcq: number;
}

/** A run as the result file stores it: JSON has no Infinity. */
export type StoredLockRun = Omit<RunResult, 'fairness'> & { fairness: number | 'Infinity' };

interface SequentialResult {
  impl: Impl;
  masters: number;
  cycles: number;
  cyclesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | undefined;
  redisCommandsPerCycle: number;
  redisCpuUsPerCycle: number;
  clientCpuUsPerCycle: number;
}

function plan(quick: boolean): { sequential: SequentialCase[]; groups: Group[] } {
  if (quick) {
    return {
      sequential: [
        { impl: 'schedkit', masters: 1 },
        { impl: 'hand-written', masters: 1 },
        { impl: 'redlock', masters: 1 },
        { impl: 'schedkit', masters: 3 },
      ],
      groups: [
        { case: { masters: 1, processes: 1, keys: 1, holdMs: 0, contenders: 1 }, impls: [...IMPLS] },
        { case: { masters: 1, processes: 1, keys: 1, holdMs: 0, contenders: 16 }, impls: [...IMPLS] },
        { case: { masters: 1, processes: PROCESSES, keys: 1, holdMs: 0, contenders: 16 }, impls: ['schedkit'] },
      ],
    };
  }
  const groups: Group[] = [];
  for (const processes of [1, PROCESSES]) {
    for (const keys of [1, MANY_KEYS]) {
      for (const holdMs of [0, 1]) {
        for (const contenders of [1, 4, 16, 64]) {
          if (contenders < processes) continue;
          groups.push({ case: { masters: 1, processes, keys, holdMs, contenders }, impls: [...IMPLS] });
        }
      }
    }
  }
  for (const processes of [1, PROCESSES]) {
    for (const contenders of [16, 64]) {
      groups.push({ case: { masters: 3, processes, keys: 1, holdMs: 0, contenders }, impls: ['schedkit', 'redlock'] });
    }
  }
  return {
    sequential: [
      { impl: 'schedkit', masters: 1 },
      { impl: 'hand-written', masters: 1 },
      { impl: 'redlock', masters: 1 },
      { impl: 'schedkit', masters: 3 },
      { impl: 'redlock', masters: 3 },
    ],
    groups,
  };
}

let progressStart = Date.now();
const progress = (text: string): void => {
  process.stderr.write(`[${SUITE} +${((Date.now() - progressStart) / 1000).toFixed(1)}s] ${text}\n`);
};

interface RedisUsage {
  calls: number;
  cpuSec: number;
}

/** Commands executed (INFO excluded) and CPU seconds so far, summed over `clients`' servers. */
async function redisUsage(clients: readonly Redis[]): Promise<RedisUsage> {
  let calls = 0;
  let cpuSec = 0;
  for (const client of clients) {
    for (const [name, n] of await commandStats(client)) if (name !== 'info') calls += n;
    cpuSec += await redisCpuSeconds(client);
  }
  return { calls, cpuSec };
}

function prefix(label: string): string {
  return `bench-${label}-${randomBytes(4).toString('hex')}`;
}

function lockSpec(impl: Impl, servers: readonly RedisServer[], masters: number, label: string): LockSpec {
  return { impl, urls: servers.slice(0, masters).map((s) => s.url), prefix: prefix(label) };
}

/** Sequential acquire+release, the implementations interleaved in rounds so drift hits them alike. */
async function runSequential(cases: SequentialCase[], servers: readonly RedisServer[], admin: readonly Redis[], timing: Timing): Promise<SequentialResult[]> {
  const opened = [];
  try {
    for (const c of cases) opened.push({ c, lock: await openLock(lockSpec(c.impl, servers, c.masters, 'seq')) });
    const acc = opened.map(() => ({ latencies: [] as number[], rates: [] as number[], errors: 0, firstError: undefined as string | undefined, calls: 0, redisCpuSec: 0, cpuMs: 0 }));
    // A short warm-up of each (JIT, connections), not counted.
    for (const { lock } of opened) await sequential(lock, 'seq', 200, 100_000);
    for (let round = 0; round < timing.sequentialRounds; round++) {
      for (let k = 0; k < opened.length; k++) {
        const i = (k + round) % opened.length;
        const used = admin.slice(0, opened[i]!.c.masters);
        const before = await redisUsage(used);
        const out = await sequential(opened[i]!.lock, 'seq', timing.sequentialSliceMs, 1_000_000);
        const after = await redisUsage(used);
        const a = acc[i]!;
        a.calls += after.calls - before.calls;
        a.redisCpuSec += after.cpuSec - before.cpuSec;
        a.cpuMs += out.cpuMs;
        for (const v of out.latencies) a.latencies.push(v);
        a.rates.push(out.cycles / (out.elapsedMs / 1000));
        a.errors += out.errors;
        a.firstError ??= out.firstError;
      }
    }
    return opened.map(({ c }, i) => {
      const a = acc[i]!;
      return {
        impl: c.impl,
        masters: c.masters,
        cycles: a.latencies.length,
        // The median slice: robust to a burst of other work during a few slices.
        cyclesPerSec: percentile(a.rates, 50),
        p50Ms: percentile(a.latencies, 50),
        p99Ms: percentile(a.latencies, 99),
        errors: a.errors,
        firstError: a.firstError,
        redisCommandsPerCycle: a.calls / a.latencies.length,
        redisCpuUsPerCycle: (a.redisCpuSec * 1e6) / a.latencies.length,
        clientCpuUsPerCycle: (a.cpuMs * 1e3) / a.latencies.length,
      };
    });
  } finally {
    await Promise.all(opened.map(({ lock }) => lock.close().catch(() => undefined)));
  }
}

async function runCase(
  impl: Impl,
  c: Case,
  servers: readonly RedisServer[],
  admin: readonly Redis[],
  pool: ContenderPool | undefined,
  timing: Timing,
  runId: string,
): Promise<Round> {
  const spec = lockSpec(impl, servers, c.masters, `c${c.contenders}`);
  const contendSpec: ContendSpec = {
    contenders: c.contenders / c.processes,
    keys: c.keys,
    holdMs: c.holdMs,
    warmupMs: timing.warmupMs,
    windowMs: windowOf(impl, c, timing),
    drainMs: timing.drainMs,
  };
  const used = admin.slice(0, c.masters);
  let outcomes: ContendOutcome[];
  let before: RedisUsage;
  if (c.processes === 1) {
    const lock = await openLock(spec);
    try {
      before = await redisUsage(used);
      outcomes = [await contend(lock, contendSpec, monoMs() + 20)];
    } finally {
      await lock.close().catch(() => undefined);
    }
  } else {
    if (pool === undefined) throw new Error('INVARIANT: a multi-process case without a contender pool');
    before = await redisUsage(used);
    outcomes = await pool.run(runId, spec, contendSpec);
  }
  const after = await redisUsage(used);
  return { outcomes, exclusion: checkExclusion(outcomes.map((o) => o.intervals)), redis: { calls: after.calls - before.calls, cpuSec: after.cpuSec - before.cpuSec } };
}

/** One measured window of one implementation on one case: every process's outcome. */
interface Round {
  outcomes: ContendOutcome[];
  exclusion: ExclusionReport;
  redis: RedisUsage;
}

/**
 * The rounds of one implementation on one case, together: acquisitions/s over
 * all windows, waits pooled, fairness of the worst round (rounds are separate
 * runs: adding their counts would hide a round that starved someone).
 */
function summarise(impl: Impl, c: Case, rounds: Round[], timing: Timing): RunResult {
  const outcomes = rounds.flatMap((r) => r.outcomes);
  const waits: number[] = [];
  for (const o of outcomes) for (const w of o.waits) waits.push(w);
  let maxPending = 0;
  for (const o of outcomes) for (const w of o.pendingWaits) maxPending = Math.max(maxPending, w);
  const perRound = rounds.map((r) => r.outcomes.flatMap((o) => o.counts));
  const allCounts = perRound.flat();
  const acquisitions = allCounts.reduce((a, b) => a + b, 0);
  const sum = (f: (e: ExclusionReport) => number): number => rounds.reduce((a, r) => a + f(r.exclusion), 0);
  const exclusion: ExclusionReport = {
    records: sum((e) => e.records),
    violations: sum((e) => e.violations),
    overlaps: sum((e) => e.overlaps),
    counterFlags: sum((e) => e.counterFlags),
    fenceInversions: sum((e) => e.fenceInversions),
  };
  const redisCalls = rounds.reduce((a, r) => a + r.redis.calls, 0);
  const redisCpuSec = rounds.reduce((a, r) => a + r.redis.cpuSec, 0);
  let first: string | undefined;
  for (const o of outcomes) first ??= o.firstError;
  return {
    impl,
    ...c,
    acquisitionsPerSec: acquisitions / ((rounds.length * windowOf(impl, c, timing)) / 1000),
    windowMs: windowOf(impl, c, timing),
    gaveUp: outcomes.reduce((a, o) => a + o.gaveUp, 0),
    p50WaitMs: percentile(waits, 50),
    p99WaitMs: percentile(waits, 99),
    fairness: Math.max(...perRound.map((counts) => fairnessOf(counts))),
    violations: exclusion.violations,
    acquisitions,
    minPerContender: Math.min(...allCounts),
    maxPerContender: Math.max(...allCounts),
    maxPendingWaitMs: maxPending,
    exclusion,
    acquireErrors: outcomes.reduce((a, o) => a + o.acquireErrors, 0),
    releaseErrors: outcomes.reduce((a, o) => a + o.releaseErrors, 0),
    firstError: first,
    stuck: outcomes.reduce((a, o) => a + o.stuck, 0),
    redisCommandsPerAcq: redisCalls / exclusion.records,
    redisCpuUsPerAcq: (redisCpuSec * 1e6) / exclusion.records,
    clientCpuUsPerAcq: (outcomes.reduce((a, o) => a + o.cpuMs, 0) * 1e3) / exclusion.records,
  };
}

// ---------------------------------------------------------------- reporting

const num = (v: number): string => (Number.isFinite(v) ? Math.round(v).toString() : 'n/a');
const fair = (v: number): string => (v === Infinity ? '∞ (starved)' : Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');
const caseLabel = (c: Case): string =>
  `${c.masters} master${c.masters > 1 ? 's' : ''}, ${c.processes} process${c.processes > 1 ? 'es' : ''}, ${c.keys} key${c.keys > 1 ? 's' : ''}, hold ${c.holdMs} ms`;
const same = (a: Case, b: Case): boolean =>
  a.masters === b.masters && a.processes === b.processes && a.keys === b.keys && a.holdMs === b.holdMs && a.contenders === b.contenders;

function find(runs: RunResult[], impl: Impl, c: Case): RunResult | undefined {
  return runs.find((r) => r.impl === impl && same(r, c));
}

function sequentialTable(results: SequentialResult[], cpu: string): Table {
  const base = results.find((r) => r.impl === 'hand-written' && r.masters === 1);
  return {
    title: `Sequential acquire+release, one client, nobody else (C=1, no critical section; ${cpu})`,
    columns: ['impl', 'masters', 'cycles/s', 'vs hand-written', 'p50 ms', 'p99 ms', 'Redis cmds/cycle', 'client CPU µs/cycle', 'Redis CPU µs/cycle', 'errors'],
    rows: results.map((r) => [
      r.impl,
      r.masters,
      num(r.cyclesPerSec),
      base ? x(r.cyclesPerSec / base.cyclesPerSec) : 'n/a',
      ms(r.p50Ms),
      ms(r.p99Ms),
      r.redisCommandsPerCycle.toFixed(1),
      num(r.clientCpuUsPerCycle),
      num(r.redisCpuUsPerCycle),
      r.errors,
    ]),
  };
}

function contentionTables(runs: RunResult[]): Table[] {
  const tables: Table[] = [];
  const dims: Case[] = [];
  for (const r of runs) if (!dims.some((d) => d.masters === r.masters && d.processes === r.processes && d.keys === r.keys && d.holdMs === r.holdMs)) dims.push(r);
  for (const d of dims) {
    const rows = runs
      .filter((r) => r.masters === d.masters && r.processes === d.processes && r.keys === d.keys && r.holdMs === d.holdMs)
      .sort((a, b) => a.contenders - b.contenders || IMPLS.indexOf(a.impl) - IMPLS.indexOf(b.impl));
    const multi = d.masters > 1;
    tables.push({
      title: `Contention: ${caseLabel(d)}${multi ? ' (vs hand-written on 1 master)' : ''}`,
      columns: ['C', 'impl', 'acq/s', 'vs hand-written', ...(multi ? ['vs same impl, 1 master'] : []), 'p50 wait ms', 'p99 wait ms', 'fairness', 'violations', 'gave up / errors', 'window s', 'Redis cmds/acq', 'client CPU µs/acq', 'Redis CPU µs/acq'],
      rows: rows.map((r) => {
        const hand = find(runs, 'hand-written', { ...r, masters: 1 });
        const single = find(runs, r.impl, { ...r, masters: 1 });
        return [
          r.contenders,
          r.impl,
          num(r.acquisitionsPerSec),
          hand ? x(r.acquisitionsPerSec / hand.acquisitionsPerSec) : 'n/a',
          ...(multi ? [single ? x(r.acquisitionsPerSec / single.acquisitionsPerSec) : 'n/a'] : []),
          ms(r.p50WaitMs),
          ms(r.p99WaitMs),
          fair(r.fairness),
          r.violations,
          `${r.gaveUp} / ${r.acquireErrors + r.releaseErrors}`,
          (r.windowMs / 1000).toFixed(1),
          r.redisCommandsPerAcq.toFixed(1),
          num(r.clientCpuUsPerAcq),
          num(r.redisCpuUsPerAcq),
        ];
      }),
    });
  }
  return tables;
}

function targets(seq: SequentialResult[], runs: RunResult[]): Target[] {
  const out: Target[] = [];
  const seqOf = (impl: Impl, masters: number): SequentialResult | undefined => seq.find((r) => r.impl === impl && r.masters === masters);

  const sk = seqOf('schedkit', 1);
  const hw = seqOf('hand-written', 1);
  if (sk && hw) {
    const r = sk.cyclesPerSec / hw.cyclesPerSec;
    out.push({
      name: 'sequential acquire+release',
      target: '>= 0.9x hand-written',
      measured: `${x(r)} (${num(sk.cyclesPerSec)} vs ${num(hw.cyclesPerSec)} cycles/s); by p50 cycle time ${x(hw.p50Ms / sk.p50Ms)} (${ms(sk.p50Ms)} vs ${ms(hw.p50Ms)} ms); client CPU per cycle ${x(sk.clientCpuUsPerCycle / hw.clientCpuUsPerCycle)}, Redis commands ${sk.redisCommandsPerCycle.toFixed(0)} vs ${hw.redisCommandsPerCycle.toFixed(0)}`,
      met: r >= 0.9,
    });
  }

  // 16 contenders, one key, hold 0: every process count where both were measured.
  const c16 = runs.filter((r) => r.impl === 'schedkit' && r.masters === 1 && r.keys === 1 && r.holdMs === 0 && r.contenders === 16);
  const pairs16 = c16.flatMap((s) => {
    const h = find(runs, 'hand-written', s);
    return h ? [{ s, h }] : [];
  });
  if (pairs16.length > 0) {
    const parts = pairs16.map(({ s, h }) => `${s.processes} proc: ${x(s.acquisitionsPerSec / h.acquisitionsPerSec)} (${num(s.acquisitionsPerSec)} vs ${num(h.acquisitionsPerSec)} acq/s), fairness ${fair(s.fairness)}`);
    out.push({
      name: '16 contenders, 1 key, hold 0',
      target: '>= 1.0x hand-written acq/s, fairness <= 1.5',
      measured: parts.join('; '),
      met: pairs16.every(({ s, h }) => s.acquisitionsPerSec / h.acquisitionsPerSec >= 1.0 && s.fairness <= 1.5),
    });
  }

  const c64 = runs.filter((r) => r.impl === 'schedkit' && r.masters === 1 && r.keys === 1 && r.contenders === 64);
  if (c64.length > 0) {
    const context = (impl: Impl, r: RunResult): string => {
      const o = find(runs, impl, r);
      return o ? `${impl} ${fair(o.fairness)}` : '';
    };
    out.push({
      name: '64 contenders, 1 key (waiting acquire)',
      target: 'fairness <= 1.5',
      measured: c64
        .map((r) => `${r.processes} proc hold ${r.holdMs}: ${fair(r.fairness)} (${[context('hand-written', r), context('redlock', r)].filter(Boolean).join(', ')})`)
        .join('; '),
      met: c64.every((r) => r.fairness <= 1.5),
    });
  }

  const three: string[] = [];
  let threeMet = true;
  const sk3 = seqOf('schedkit', 3);
  if (sk && sk3) {
    const r = sk3.cyclesPerSec / sk.cyclesPerSec;
    three.push(`sequential ${x(r)} (${num(sk3.cyclesPerSec)} vs ${num(sk.cyclesPerSec)} cycles/s)`);
    threeMet &&= r >= 0.5;
  }
  for (const r3 of runs.filter((r) => r.impl === 'schedkit' && r.masters === 3)) {
    const r1 = find(runs, 'schedkit', { ...r3, masters: 1 });
    if (!r1) continue;
    const r = r3.acquisitionsPerSec / r1.acquisitionsPerSec;
    three.push(`C=${r3.contenders} ${r3.processes} proc ${x(r)} (${num(r3.acquisitionsPerSec)} vs ${num(r1.acquisitionsPerSec)} acq/s)`);
    threeMet &&= r >= 0.5;
  }
  if (three.length > 0) out.push({ name: 'schedkit on 3 masters', target: '>= 0.5x single master', measured: three.join('; '), met: threeMet });

  const violations = runs.reduce((a, r) => a + r.violations, 0);
  const checked = runs.reduce((a, r) => a + r.exclusion.records, 0);
  out.push({
    name: 'mutual exclusion',
    target: '0 violations everywhere',
    measured: `${violations} violations in ${runs.length} runs (${checked} holdings checked)`,
    met: violations === 0,
  });
  return out;
}

function checks(seq: SequentialResult[], runs: RunResult[]): Check[] {
  const out: Check[] = [];
  for (const impl of IMPLS) {
    const mine = runs.filter((r) => r.impl === impl);
    if (mine.length === 0) continue;
    const bad = mine.filter((r) => r.violations > 0);
    const holdings = mine.reduce((a, r) => a + r.exclusion.records, 0);
    out.push({
      name: `mutual exclusion: ${impl}`,
      ok: bad.length === 0,
      detail:
        bad.length === 0
          ? `0 violations in ${mine.length} runs, ${holdings} holdings (holder counter + interval overlap across processes)`
          : bad.map((r) => `${caseLabel(r)}, C=${r.contenders}: ${r.violations} (overlaps ${r.exclusion.overlaps}, counter ${r.exclusion.counterFlags})`).join('; '),
    });
  }
  const sk = runs.filter((r) => r.impl === 'schedkit');
  if (sk.length > 0) {
    const inversions = sk.filter((r) => r.exclusion.fenceInversions > 0);
    out.push({
      name: 'schedkit: fencing tokens strictly increase per key in holding order',
      ok: inversions.length === 0,
      detail: inversions.length === 0 ? `${sk.length} runs` : inversions.map((r) => `${caseLabel(r)}, C=${r.contenders}: ${r.exclusion.fenceInversions}`).join('; '),
    });
    const starved = sk.filter((r) => !(r.minPerContender > 0));
    out.push({
      name: 'schedkit: every contender served',
      ok: starved.length === 0,
      detail:
        starved.length === 0
          ? `every contender acquired at least once in each of ${sk.length} runs`
          : starved.map((r) => `${caseLabel(r)}, C=${r.contenders}: min ${r.minPerContender}, left waiting up to ${ms(r.maxPendingWaitMs)} ms`).join('; '),
    });
    const failing = sk.filter((r) => r.acquireErrors + r.releaseErrors + r.stuck > 0);
    const seqErrors = seq.filter((r) => r.impl === 'schedkit' && r.errors > 0);
    out.push({
      name: 'schedkit: no errors, no contender stuck after the window',
      ok: failing.length === 0 && seqErrors.length === 0,
      detail:
        failing.length === 0 && seqErrors.length === 0
          ? 'none'
          : [
              ...failing.map((r) => `${caseLabel(r)}, C=${r.contenders}: acquire ${r.acquireErrors}, release ${r.releaseErrors}, stuck ${r.stuck} (${r.firstError ?? ''})`),
              ...seqErrors.map((r) => `sequential ${r.masters} masters: ${r.errors} (${r.firstError ?? ''})`),
            ].join('; '),
    });
  }
  return out;
}

// ---------------------------------------------------------------- the suite

export async function run(options: { quick: boolean }): Promise<SuiteResult> {
  const { quick } = options;
  const timing = quick ? QUICK : FULL;
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  progressStart = t0;
  const loadBefore = loadavg();
  const { sequential: seqCases, groups } = plan(quick);
  const servers = await startMasters(3);
  let layout: CpuLayout | undefined;
  const admin = servers.map((s) => new Redis(s.url, { protocol: 2, connectionName: 'bench:lock-admin' }));
  for (const client of admin) client.on('error', () => undefined);
  let pool: ContenderPool | undefined;
  const runs: RunResult[] = [];
  let seq: SequentialResult[] = [];
  try {
    // Before the contender processes start: they inherit this process's CPUs.
    layout = pinCpus(servers.map((s) => s.pid));
    progress(`CPU layout: ${layout.description}`);

    seq = await runSequential(seqCases, servers, admin, timing);
    for (const r of seq) progress(`sequential ${r.impl} ${r.masters}m: ${num(r.cyclesPerSec)} cycles/s p50 ${ms(r.p50Ms)} ms`);

    let runNo = 0;
    for (const [g, group] of groups.entries()) {
      if (group.case.processes > 1 && pool === undefined) {
        // Between measurements, so their start-up CPU overlaps none.
        const started = Date.now();
        pool = await ContenderPool.start(PROCESSES, servers[0]!.url);
        progress(`${pool.size} contender processes up in ${Date.now() - started} ms`);
      }
      const rounds = new Map<Impl, Round[]>(group.impls.map((impl) => [impl, []]));
      for (let round = 0; round < timing.rounds; round++) {
        // Rotate the order so no implementation always runs first (or last).
        const shift = g + round;
        for (const impl of group.impls.map((_v, i) => group.impls[(i + shift) % group.impls.length]!)) {
          await Promise.all(admin.map((client) => client.flushall()));
          rounds.get(impl)!.push(await runCase(impl, group.case, servers, admin, pool, timing, `r${runNo++}`));
        }
      }
      for (const impl of group.impls) {
        const result = summarise(impl, group.case, rounds.get(impl)!, timing);
        runs.push(result);
        progress(
          `${impl} ${caseLabel(group.case)}, C=${group.case.contenders}: ${num(result.acquisitionsPerSec)} acq/s, wait p50 ${ms(result.p50WaitMs)} p99 ${ms(result.p99WaitMs)} ms, fairness ${fair(result.fairness)}, violations ${result.violations}`,
        );
      }
    }
  } finally {
    await pool?.close().catch(() => undefined);
    for (const client of admin) client.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    layout?.restore();
  }

  const throughput: ThroughputPoint[] = runs.map((r) => ({
    impl: r.impl,
    masters: r.masters,
    processes: r.processes,
    keys: r.keys,
    holdMs: r.holdMs,
    contenders: r.contenders,
    acquisitionsPerSec: r.acquisitionsPerSec,
    p50WaitMs: r.p50WaitMs,
    p99WaitMs: r.p99WaitMs,
    fairness: r.fairness,
    violations: r.violations,
  }));

  return {
    suite: SUITE,
    quick,
    startedAt,
    durationMs: Date.now() - t0,
    machine: machine(),
    tables: [sequentialTable(seq, layout?.description ?? 'not pinned'), ...contentionTables(runs)],
    checks: checks(seq, runs),
    targets: targets(seq, runs),
    data: {
      throughput,
      sequential: seq,
      runs: runs.map((r) => ({ ...r, fairness: Number.isFinite(r.fairness) ? r.fairness : 'Infinity' })),
      settings: {
        ttlMs: TTL_MS,
        schedkit: { waitMs: SCHEDKIT_WAIT_MS, acquire: 'acquire(key, { ttlMs, waitMs, signal })' },
        handWritten: { ...HAND_WRITTEN_RETRY, acquire: 'SET key token NX PX ttl, retry after delayMs + random 0..jitterMs', release: 'Lua GET == token then DEL' },
        redlock: { version: '5.0.0-beta.2', ...REDLOCK_RETRY, retryWindowMs: REDLOCK_RETRY_WINDOW_MS, defaults: true },
        hold: '0 ms = one setImmediate turn inside the critical section; 1 ms = setTimeout(1)',
        keyChoice: 'uniformly random per acquisition',
        cpu: layout?.description ?? 'not pinned',
        // Other work on the machine skews every number; the 1-minute load average says how much there was.
        loadAverage: { before: loadBefore.map((v) => +v.toFixed(2)), after: loadavg().map((v) => +v.toFixed(2)) },
        ...timing,
      },
    },
  };
}
