/**
 * The soak (issue 5, part 6): a private redis-server, 4 instance processes,
 * 200 recurring jobs every second plus one-off triggers, random kill -9 and
 * restart of instances, and a ledger at the end.
 *
 * Timeline: all 4 instances ready -> the window opens at the next whole second
 * + 2 s (t0) and lasts `minutes` (until t1). Kills and triggers happen inside
 * the window only. Then the drain: at most lockTtlMs + 20 s for the runs of
 * the window to finish (a run lost with a killed instance is recovered after
 * lockTtlMs + one refresh); it ends as soon as the ledger is complete.
 *
 * Two modes. The soak's own settings (default): lockTtlMs 3 s, misfire
 * 'run-all' (a slot a dead instance claimed is put back and run, never
 * dropped), overlap 'allow' (a slot stuck with a killed instance until its
 * lease runs out does not make the next slots skip), maxConcurrent 400.
 * `defaults: true`: the scheduler's defaults (overlap 'skip', misfire
 * 'run-once', lockTtlMs 30 s, maxConcurrent 10); only historyLimit is set,
 * for the ledger's look-ups. There a slot stuck with a killed instance makes
 * the job's next slots skip until its lease runs out: expected, counted.
 *
 * Ledger rules:
 * - A recurring slot is "in the window" when t0 <= slot <= t1. It is SKIPPED
 *   when it has no recorded success and an instance reported it skipped by
 *   the overlap policy (`run:skipped`), or the misfire policy dropped it (the
 *   "missed slots" log line: its job, when, how many; it explains at most
 *   that many slots of the job, among the seconds before it was logged). It
 *   is MISSED when, after the drain, it has neither a recorded success
 *   (`run:success`, emitted once the outcome is stored) nor a skip. A slot
 *   that never started and has no skip line is looked up in its job's
 *   history: a stored `skipped` entry (written by an instance killed before
 *   it printed the line) counts as skipped.
 * - A one-off trigger counts once its instance acknowledged it (`triggered`:
 *   stored in Redis). It is LOST when, after the drain, it has no recorded
 *   success.
 * - A slot or trigger is a DUPLICATE when it has more than one recorded
 *   success, or two starts of the same attempt, or a start of attempt n > 1
 *   that neither a stall of attempt n-1 on an instance we killed (`stalled`
 *   line naming a killed instance, or attempt n-1 started on a killed one)
 *   nor a recorded failure of attempt n-1 (retry policy) explains.
 * - HEAP: each instance process is asked for heapUsed after two forced GCs
 *   (`--expose-gc`) when the window is `warmupMs` old, and again at the end.
 *   For each instance that answered both (node-1 is never killed, so it
 *   always does), FLAT means end <= start + max(8 MB, 25 % of start).
 * - A run whose last attempt started on an instance we then killed may have
 *   been recorded as a success in Redis just before the kill, with the
 *   `run:success` line lost with the process (and then, rightly, not run
 *   again). Such a run (its handler returned: `done` line) without a success line is looked up in the job's
 *   history in Redis (instances keep enough history for the whole window):
 *   a stored `success` for that slot / trigger id counts as its one success
 *   (reported as `confirmedInRedis`); otherwise it is missed / lost.
 */
import { RedisBackend, resolveConfig } from 'schedkit';
import { startRedis, randomPrefix, type RedisServer } from '../helpers/redis-server.js';
import { Instance, type Line } from './processes.js';
import { soakSettings } from './settings.js';

export { formatSummary } from './settings.js';
import type { InstanceSpec } from './instance.js';

export interface SoakOptions {
  minutes: number;
  jobs?: number;
  triggersPerSecond?: number;
  /** Kill -9 an instance every killEveryMs[0]..[1] ms. */
  killEveryMs?: [number, number];
  /** A killed instance is restarted after restartAfterMs[0]..[1] ms. */
  restartAfterMs?: [number, number];
  lockTtlMs?: number;
  /** Run with the scheduler's defaults instead of the soak's own settings (see above). */
  defaults?: boolean;
  log?: (text: string) => void;
}

export interface HeapSample {
  instance: string;
  startBytes: number;
  endBytes: number;
  flat: boolean;
}

export interface SoakSummary {
  windowMs: number;
  jobs: number;
  slotsExpected: number;
  slotRuns: number;
  triggersAcked: number;
  triggerRuns: number;
  /** Every started attempt of the window's slots and of the one-off runs. */
  starts: number;
  duplicates: string[];
  missed: string[];
  lost: string[];
  /** Window slots without a success that a policy deliberately did not run. */
  skipped: { overlap: number; misfire: number };
  /** Error lines the instances logged, and `backend:down` events. */
  errors: string[];
  outages: number;
  /** The instances' settings that differ from the scheduler's defaults, as given and in words. */
  settings: Record<string, unknown>;
  settingsText: string;
  reruns: { afterKill: number; afterFailure: number };
  failures: number;
  stalled: number;
  /** Successes whose line was lost with a killed instance, found in Redis history. */
  confirmedInRedis: number;
  /** Skips whose line was lost with a killed instance, found in Redis history (counted in `skipped.overlap`). */
  skippedInRedis: number;
  kills: Array<{ instance: string; atMs: number }>;
  restarts: number;
  heap: HeapSample[];
  cleanStops: number;
  drainMs: number;
  ok: boolean;
}

interface Rec {
  job: string;
  slot?: number;
  ids: Set<string>;
  starts: Array<{ a: number; i: string }>;
  oks: number;
  /** Handler returns (`done` lines). */
  dones: number;
}

const rnd = ([min, max]: [number, number]): number => min + Math.random() * (max - min);

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const log = options.log ?? (() => undefined);
  const jobs = options.jobs ?? 200;
  const defaults = options.defaults === true;
  const lockTtlMs = defaults ? resolveConfig({}).lockTtlMs : (options.lockTtlMs ?? 3_000);
  const triggersPerSecond = options.triggersPerSecond ?? 3;
  const killEvery = options.killEveryMs ?? [10_000, 20_000];
  const restartAfter = options.restartAfterMs ?? [1_000, 4_000];
  const windowMs = Math.round(options.minutes * 60_000);
  const warmupMs = Math.min(20_000, Math.round(windowMs / 3));
  const prefix = randomPrefix('soak');
  // Enough history per job to look up any run of the window at the end (see the ledger rules).
  const historyLimit = Math.min(100_000, Math.ceil((windowMs / 1000) * Math.max(1, triggersPerSecond)) + 200);

  // ---- the ledger, fed line by line
  const slots = new Map<string, Rec>();
  const triggers = new Map<string, Rec>();
  const acked = new Set<string>();
  const stalledBy = new Map<string, Set<string>>(); // `${job}|${id}|${attempt}` -> dead instances
  const killed = new Set<string>();
  const heapStart = new Map<string, number>();
  const heapEnd = new Map<string, number>();
  let phase: 'warm' | 'end' = 'warm';
  let failures = 0;
  let stalled = 0;
  const recOf = (line: Line): Rec | undefined => {
    const job = line.job as string;
    if (job === 'oneoff') {
      const id = line.id as string;
      let rec = triggers.get(id);
      if (rec === undefined) triggers.set(id, (rec = { job, ids: new Set([id]), starts: [], oks: 0, dones: 0 }));
      return rec;
    }
    if (typeof line.slot !== 'number') return undefined;
    const key = `${job}@${line.slot}`;
    let rec = slots.get(key);
    if (rec === undefined) slots.set(key, (rec = { job, slot: line.slot, ids: new Set(), starts: [], oks: 0, dones: 0 }));
    rec.ids.add(line.id as string);
    return rec;
  };
  const failuresById = new Map<string, Set<number>>();
  const skippedSlots = new Set<string>(); // `${job}@${slot}` skipped by the overlap policy
  const drops: Array<{ job: string; dropped: number; after: number; before: number }> = [];
  const errors: string[] = [];
  let outages = 0;
  const onLine = (line: Line): void => {
    switch (line.m) {
      case 'start': {
        recOf(line)?.starts.push({ a: line.a as number, i: line.i });
        break;
      }
      case 'done': {
        const rec = recOf(line);
        if (rec !== undefined) rec.dones++;
        break;
      }
      case 'ok': {
        const rec = recOf(line);
        if (rec !== undefined) rec.oks++;
        break;
      }
      case 'fail': {
        failures++;
        const key = `${String(line.job)}|${String(line.id)}`;
        let set = failuresById.get(key);
        if (set === undefined) failuresById.set(key, (set = new Set()));
        set.add(line.a as number);
        break;
      }
      case 'stalled': {
        stalled++;
        const key = `${String(line.job)}|${String(line.id)}|${String(line.a)}`;
        let set = stalledBy.get(key);
        if (set === undefined) stalledBy.set(key, (set = new Set()));
        set.add(line.dead as string);
        break;
      }
      case 'triggered':
        acked.add(line.id as string);
        break;
      case 'skipped':
        skippedSlots.add(`${String(line.job)}@${String(line.slot)}`);
        break;
      case 'dropped':
        drops.push({ job: line.job as string, dropped: line.dropped as number, after: line.after as number, before: line.before as number });
        break;
      case 'err':
        errors.push(`${line.i}: ${String(line.msg)}`);
        break;
      case 'down':
        outages++;
        break;
      case 'heap':
        (phase === 'warm' ? heapStart : heapEnd).set(line.i, line.heapUsed as number);
        break;
    }
  };

  // ---- processes
  let redis: RedisServer | undefined;
  const all: Instance[] = [];
  const current = new Map<string, Instance>(); // slot name (node-N) -> its live incarnation
  const incarnations = new Map<string, number>();
  const spawnInstance = (name: string): Instance => {
    const n = (incarnations.get(name) ?? 0) + 1;
    incarnations.set(name, n);
    const spec: InstanceSpec = {
      instanceId: `${name}.${n}`,
      redisUrl: redis!.url,
      prefix,
      config: settings.config,
      recurring: { count: jobs, schedule: '* * * * * *', ...settings.recurring, durationMs: [0, 30] },
      oneoff: { durationMs: [50, 400] },
    };
    const instance = new Instance(spec, onLine);
    all.push(instance);
    current.set(name, instance);
    return instance;
  };
  const settings = soakSettings(defaults, lockTtlMs, historyLimit);
  const kills: Array<{ instance: string; atMs: number }> = [];
  let restarts = 0;
  let cleanStops = 0;
  let drainMs = 0;
  const pending: Array<Promise<unknown>> = [];
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

  try {
    redis = await startRedis();
    log(`redis-server pid ${redis.pid} on ${redis.url}; prefix ${prefix}`);
    const names = ['node-1', 'node-2', 'node-3', 'node-4'];
    await Promise.all(names.map((name) => spawnInstance(name).waitFor('ready', 60_000, () => current.get(name)!.ready)));
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
    const t1 = t0 + windowMs;
    log(`4 instances ready; window ${new Date(t0).toISOString()} .. ${new Date(t1).toISOString()}`);

    // Heap at warm-up: a one-shot timer.
    const warmAt = t0 + warmupMs;
    pending.push(
      sleep(warmAt - Date.now()).then(() => {
        for (const instance of current.values()) if (instance.ready && instance.alive) instance.send({ cmd: 'heap' });
      }),
    );

    // Triggers: every 1/rate s to a random ready instance, ids unique; bounded by the window.
    let triggerSeq = 0;
    const triggerLoop = (async () => {
      await sleep(t0 - Date.now());
      const period = 1000 / triggersPerSecond;
      const maxTriggers = Math.ceil((windowMs / 1000) * triggersPerSecond) + 1;
      while (Date.now() < t1 && triggerSeq < maxTriggers) {
        const ready = [...current.values()].filter((x) => x.ready && x.alive);
        const target = ready[Math.floor(Math.random() * ready.length)];
        if (target !== undefined) target.send({ cmd: 'trigger', id: `trig-${++triggerSeq}` });
        await sleep(t0 + triggerSeq * period - Date.now());
      }
    })();
    pending.push(triggerLoop);

    // Kills: node-2..4 (node-1 is the heap witness), never fewer than 2 ready instances after a kill.
    const killLoop = (async () => {
      const victims = ['node-2', 'node-3', 'node-4'];
      const maxKills = Math.ceil(windowMs / killEvery[0]) + 1;
      let next = t0 + rnd(killEvery);
      while (kills.length < maxKills) {
        if (next > t1 - 5_000) break;
        // Just after a slot fires (+5..25 ms), while that second's runs are in flight.
        const at = Math.floor(next / 1000) * 1000 + rnd([5, 25]);
        await sleep(at - Date.now());
        next += rnd(killEvery);
        const readyCount = [...current.values()].filter((x) => x.ready && x.alive).length;
        const candidates = victims.map((v) => current.get(v)!).filter((x) => x.ready && x.alive);
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        if (victim === undefined || readyCount - 1 < 2) continue;
        const name = victim.id.split('.')[0]!;
        killed.add(victim.id);
        kills.push({ instance: victim.id, atMs: Date.now() - t0 });
        log(`kill -9 ${victim.id} (pid ${victim.pid}) at +${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await victim.kill();
        const delay = rnd(restartAfter);
        pending.push(
          sleep(delay).then(async () => {
            if (Date.now() > t1) return;
            const fresh = spawnInstance(name);
            restarts++;
            await fresh.waitFor('ready', 60_000, () => fresh.ready).catch((error: unknown) => log(String(error)));
          }),
        );
      }
    })();
    pending.push(killLoop);

    await sleep(t1 - Date.now());
    await Promise.all([triggerLoop, killLoop]);

    // ---- drain: until every window slot and acked trigger has a success, bounded.
    // A run without a success line whose last attempt started on an instance
    // we killed is looked up in Redis history (see the ledger rules), at most
    // once a second per job.
    const inWindow = (): Rec[] => [...slots.values()].filter((r) => r.slot! >= t0 && r.slot! <= t1);
    const expected = jobs * (windowMs / 1000 + 1);
    let confirmedInRedis = 0;
    let skippedInRedis = 0;
    const lastOnKilled = (rec: Rec): boolean => {
      const last = rec.starts.reduce<{ a: number; i: string } | undefined>((best, x) => (best === undefined || x.a > best.a ? x : best), undefined);
      return last !== undefined && killed.has(last.i);
    };
    const backend = new RedisBackend({ connection: { url: redis.url }, prefix, historyLimit });
    await backend.connect();
    const confirm = async (): Promise<void> => {
      const open = [
        ...inWindow().filter((r) => r.oks === 0 && r.dones > 0 && lastOnKilled(r)),
        ...[...acked].map((id) => triggers.get(id)).filter((r): r is Rec => r !== undefined && r.oks === 0 && r.dones > 0 && lastOnKilled(r)),
      ];
      const historyOf = new Map<string, Awaited<ReturnType<RedisBackend['history']>>>();
      for (const rec of open) {
        let entries = historyOf.get(rec.job);
        if (entries === undefined) historyOf.set(rec.job, (entries = await backend.history(`/${rec.job}`, historyLimit)));
        const stored = entries.some((e) =>
          e.outcome === 'success' && (rec.slot === undefined ? rec.ids.has(e.id) : e.kind === 'slot' && e.scheduledAt === rec.slot),
        );
        if (stored) {
          rec.oks++;
          confirmedInRedis++;
        }
      }
      // A slot never started and not reported skipped: the skip may have been
      // stored by an instance killed before it could say so (its history has it).
      const quietSince = Date.now() - 2_000;
      for (let slot = t0; slot <= t1 && slot < quietSince; slot += 1000) {
        for (let n = 0; n < jobs; n++) {
          const key = `tick-${n}@${slot}`;
          if ((slots.get(key)?.starts.length ?? 0) > 0 || skippedSlots.has(key)) continue;
          let entries = historyOf.get(`tick-${n}`);
          if (entries === undefined) historyOf.set(`tick-${n}`, (entries = await backend.history(`/tick-${n}`, historyLimit)));
          if (entries.some((e) => e.outcome === 'skipped' && e.kind === 'slot' && e.scheduledAt === slot)) {
            skippedSlots.add(key);
            skippedInRedis++;
          }
        }
      }
    };
    // A window slot is settled once it succeeded or a policy skipped it.
    const settled = (): number => inWindow().filter((r) => r.oks > 0).length + unrunSkipped().length;
    const unrunSkipped = (): string[] => {
      const list: string[] = [];
      for (const key of skippedSlots) {
        const slot = Number(key.slice(key.lastIndexOf('@') + 1));
        if (slot >= t0 && slot <= t1 && (slots.get(key)?.oks ?? 0) === 0) list.push(key);
      }
      return list;
    };
    const complete = (): boolean => settled() >= expected && [...acked].every((id) => (triggers.get(id)?.oks ?? 0) > 0);
    const drainStart = Date.now();
    // A run lost with a killed instance is recovered after lockTtlMs + one refresh.
    const drainDeadline = drainStart + lockTtlMs + Math.floor(lockTtlMs / 3) + 20_000;
    try {
      let lastConfirm = 0;
      for (;;) {
        if (Date.now() - lastConfirm >= 1_000) {
          await confirm();
          lastConfirm = Date.now();
        }
        if (complete() || Date.now() >= drainDeadline) break;
        await sleep(250);
      }
    } finally {
      await backend.close();
    }
    drainMs = Date.now() - drainStart;
    await Promise.allSettled(pending);

    // ---- heap at the end, then stop everyone gracefully.
    phase = 'end';
    const survivors = [...current.values()].filter((x) => x.alive && x.ready);
    for (const x of survivors) x.send({ cmd: 'heap' });
    await Promise.all(survivors.map((x) => x.waitFor('heap', 15_000, () => heapEnd.has(x.id)).catch(() => undefined)));
    const stops = await Promise.all(survivors.map((x) => x.stop(20_000)));
    cleanStops = stops.filter(Boolean).length;

    // ---- the ledger
    const duplicates: string[] = [];
    let afterKill = 0;
    let afterFailure = 0;
    const judge = (label: string, rec: Rec): void => {
      if (rec.oks > 1) duplicates.push(`${label}: ${rec.oks} successes`);
      const byAttempt = new Map<number, string[]>();
      for (const s of rec.starts) byAttempt.set(s.a, [...(byAttempt.get(s.a) ?? []), s.i]);
      for (const [a, on] of byAttempt) {
        if (on.length > 1) duplicates.push(`${label}: attempt ${a} started ${on.length} times (${on.join(', ')})`);
        if (a === 1) continue;
        const ids = [...rec.ids];
        const stalledOnKilled = ids.some((id) => [...(stalledBy.get(`${rec.job}|${id}|${a - 1}`) ?? [])].some((dead) => killed.has(dead)));
        const previousOnKilled = (byAttempt.get(a - 1) ?? []).some((i) => killed.has(i));
        const failed = ids.some((id) => failuresById.get(`${rec.job}|${id}`)?.has(a - 1) === true);
        if (stalledOnKilled || previousOnKilled) afterKill++;
        else if (failed) afterFailure++;
        else duplicates.push(`${label}: attempt ${a} on ${on.join(', ')} without a kill or failure of attempt ${a - 1}`);
      }
    };
    const windowRecs = inWindow();
    for (const rec of windowRecs) judge(`${rec.job}@${new Date(rec.slot!).toISOString()}`, rec);
    for (const [id, rec] of triggers) judge(`oneoff ${id}`, rec);
    const missed: string[] = [];
    const skipped = { overlap: 0, misfire: 0 };
    const dropBudget = drops.map((d) => ({ ...d, left: d.dropped }));
    for (let slot = t0; slot <= t1; slot += 1000) {
      for (let n = 0; n < jobs; n++) {
        const rec = slots.get(`tick-${n}@${slot}`);
        if (rec === undefined || rec.oks === 0) {
          if (skippedSlots.has(`tick-${n}@${slot}`)) {
            skipped.overlap++;
            continue;
          }
          // Dropped by the misfire policy: the scheduler logs exactly which slots.
          const drop = dropBudget.find((d) => d.job === `tick-${n}` && d.left > 0 && slot > d.after && slot < d.before);
          if (drop !== undefined) {
            drop.left--;
            skipped.misfire++;
            continue;
          }
          const how = rec === undefined ? 'never started' : `started ${rec.starts.map((x) => `#${x.a} on ${x.i}${killed.has(x.i) ? ' (killed)' : ''}`).join(', ')}; no success`;
          missed.push(`tick-${n}@${new Date(slot).toISOString()} (${how})`);
        }
      }
    }
    const lost = [...acked].filter((id) => (triggers.get(id)?.oks ?? 0) === 0).map((id) => `oneoff ${id} (started ${triggers.get(id)?.starts.length ?? 0}x)`);
    const heap: HeapSample[] = [];
    for (const [instance, startBytes] of heapStart) {
      const endBytes = heapEnd.get(instance);
      if (endBytes === undefined) continue;
      heap.push({ instance, startBytes, endBytes, flat: endBytes <= startBytes + Math.max(8 * 2 ** 20, startBytes * 0.25) });
    }
    const witness = heap.some((h) => h.instance === 'node-1.1');
    const summary: SoakSummary = {
      windowMs,
      jobs,
      slotsExpected: expected,
      slotRuns: windowRecs.filter((r) => r.oks > 0).length,
      triggersAcked: acked.size,
      triggerRuns: [...acked].filter((id) => (triggers.get(id)?.oks ?? 0) > 0).length,
      starts: [...windowRecs, ...triggers.values()].reduce((sum, r) => sum + r.starts.length, 0),
      duplicates,
      missed,
      lost,
      skipped,
      errors,
      outages,
      settings: settings.described,
      settingsText: settings.text,
      reruns: { afterKill, afterFailure },
      failures,
      stalled,
      confirmedInRedis,
      skippedInRedis,
      kills,
      restarts,
      heap,
      cleanStops,
      drainMs,
      ok: duplicates.length === 0 && missed.length === 0 && lost.length === 0 && witness && heap.every((h) => h.flat) && acked.size > 0,
    };
    return summary;
  } finally {
    // Everything started is stopped by pid, even on failure.
    await Promise.all(all.map((instance) => instance.kill()));
    await redis?.stop();
  }
}
