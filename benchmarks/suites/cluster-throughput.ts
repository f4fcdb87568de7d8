/**
 * SPEC §11.3 — cluster throughput: 1, 2, 4 and 8 instance processes sharing
 * 1,000 jobs every second on one private redis-server, schedkit and BullMQ
 * job schedulers side by side. Every instance registers the same 1,000 jobs
 * (`* * * * * *`) with a handler that only records (job, slot). Each system
 * scales out 1 -> 2 -> 4 -> 8 instances (new ones register the same jobs
 * while the others run, as replicas of a service do); after each step and a
 * warm-up the suite counts, over a window of whole seconds: runs/s, duplicate
 * (job, slot) runs, missed (job, slot) pairs, commands per run (sent, counted
 * in each process's ioredis; executed, from INFO commandstats), Redis and
 * client CPU per run, and the spread of runs across instances.
 *
 * Quick: sizes 1 and 2, 4 s windows. Full: 1, 2, 4, 8, 20 s windows.
 * "Missed" = a (job, slot) of the window that had not run when the instances
 * were stopped, a grace period after the last window.
 */
import { Redis } from 'ioredis';
import { startRedis } from '../lib/redis.js';
import { machine, type Check, type SuiteResult, type Table, type Target } from '../lib/result.js';
import { isIncident } from '../lib/incidents.js';
import { ratio } from '../lib/stats.js';
import { Fleet, type Plan, type Row } from './cluster/fleet.js';
import type { System } from './cluster/protocol.js';

const SPREAD_TARGET = 1.5;

export async function run(options: { quick: boolean }): Promise<SuiteResult> {
  const startedAt = new Date();
  const began = performance.now();
  const sizes = options.quick ? [1, 2] : [1, 2, 4, 8];
  const plan: Plan = options.quick
    ? { jobs: 1000, concurrency: 100, warmupMs: 300, warmupManyMs: 2_000, windowMs: 4_000, graceMs: 500 }
    : { jobs: 1000, concurrency: 100, warmupMs: 3_000, warmupManyMs: 4_000, windowMs: 20_000, graceMs: 3_000 };
  const systems: System[] = ['schedkit', 'bullmq'];

  const server = await startRedis();
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const fleets = systems.map((system) => new Fleet(system, plan, server));
  const rows: Row[] = [];
  try {
    // Quick: every process is started (modules loaded) up front, idle until
    // its turn, and the next fleet registers and starts during the grace
    // period of the one before (not measured), on its own key prefix. Full:
    // Redis is flushed before each system, and each step starts the
    // processes it adds while the others run (between windows).
    if (options.quick) await Promise.all(fleets.map((fleet) => fleet.spawn(Math.max(...sizes))));
    for (const [index, fleet] of fleets.entries()) {
      if (!options.quick || index === 0) await admin.flushall();
      const next = options.quick ? fleets[index + 1] : undefined;
      for (const size of sizes) {
        const last = size === sizes[sizes.length - 1];
        await fleet.measure(size, admin, () => {
          if (last) void next?.go(sizes[0]!).catch(() => undefined);
        });
      }
      rows.push(...(await fleet.finish()));
    }
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.kill()));
    admin.disconnect();
    await server.stop();
  }
  rows.sort((a, b) => a.instances - b.instances || systems.indexOf(a.system) - systems.indexOf(b.system));

  const host = machine();
  const schedkit = rows.filter((r) => r.system === 'schedkit');
  const pair = (size: number): { s: Row; b: Row } => ({
    s: rows.find((r) => r.system === 'schedkit' && r.instances === size)!,
    b: rows.find((r) => r.system === 'bullmq' && r.instances === size)!,
  });

  const tables: Table[] = [
    {
      title: `Cluster throughput: ${plan.jobs.toLocaleString('en-US')} jobs every second shared by N instance processes (${plan.windowMs / 1000} s window, concurrency ${plan.concurrency} per instance)`,
      columns: [
        'system',
        'instances',
        'runs/s',
        'duplicates',
        'missed',
        'cmds/run sent',
        'cmds/run executed',
        'Redis CPU µs/run',
        'client CPU µs/run',
        'spread max/min',
        'lateness p50 / p99 ms',
        'errors, outages, reruns logged',
      ],
      rows: rows.map((r) => [
        r.system,
        r.instances,
        r.runsPerSec.toFixed(0),
        r.duplicatesTotal,
        r.missed,
        r.sentPerRun.toFixed(2),
        r.executedPerRun.toFixed(1),
        r.redisCpuUsPerRun.toFixed(1),
        r.clientCpuUsPerRun.toFixed(0),
        spreadText(r.spread),
        `${r.lateness.p50.toFixed(0)} / ${r.lateness.p99.toFixed(0)}`,
        incidentText(r.events),
      ]),
    },
    {
      title: 'schedkit / BullMQ at the same size (lower is better)',
      columns: ['instances', 'cmds/run sent', 'cmds/run executed', 'Redis CPU/run', 'client CPU/run', 'client + Redis CPU/run'],
      rows: sizes.map((size) => {
        const { s, b } = pair(size);
        return [
          size,
          ratio(s.sentPerRun, b.sentPerRun),
          ratio(s.executedPerRun, b.executedPerRun),
          ratio(s.redisCpuUsPerRun, b.redisCpuUsPerRun),
          ratio(s.clientCpuUsPerRun, b.clientCpuUsPerRun),
          ratio(s.redisCpuUsPerRun + s.clientCpuUsPerRun, b.redisCpuUsPerRun + b.clientCpuUsPerRun),
        ];
      }),
    },
    {
      title: `Where the CPU went during the window (cores busy; the machine has ${host.cores})`,
      columns: ['system', 'instances', 'Redis', 'all instances', 'runs per instance'],
      rows: rows.map((r) => [r.system, r.instances, r.redisCpuCores.toFixed(2), r.clientCpuCores.toFixed(2), r.runsPerInstance.join(' / ')]),
    },
  ];

  const checks: Check[] = schedkit.flatMap((r) => [
    {
      name: `schedkit, ${r.instances} instance(s): no duplicate run`,
      ok: r.duplicatesTotal === 0,
      detail: `${r.duplicatesTotal} duplicate (job, slot) runs over every slot of this step, joining included (${r.duplicatesInWindow} in the window)`,
    },
    {
      name: `schedkit, ${r.instances} instance(s): no missed slot`,
      ok: r.missed === 0,
      detail: `${r.missed} of ${(r.windowMs / 1000) * plan.jobs} (job, slot) pairs of the window never ran${r.missed > 0 ? ` (in ${r.slotsWithMisses} slots)` : ''}`,
    },
  ]);

  // Adding instances adds capacity, not per-run Redis work (SPEC §16): the largest fleet against one instance.
  const one = schedkit.find((r) => r.instances === 1);
  const most = schedkit.reduce<Row | undefined>((a, r) => (a === undefined || r.instances > a.instances ? r : a), undefined);
  const flat: Target[] =
    one === undefined || most === undefined || most === one
      ? []
      : [
          {
            name: `Redis commands executed per run, ${most.instances} vs 1 instance`,
            target: '<= 1.25x',
            measured: `${(most.executedPerRun / one.executedPerRun).toFixed(2)}x (${most.executedPerRun.toFixed(1)} vs ${one.executedPerRun.toFixed(1)})`,
            met: most.executedPerRun / one.executedPerRun <= 1.25,
          },
          {
            name: `Redis CPU per run, ${most.instances} vs 1 instance`,
            target: '<= 1.25x',
            measured: `${(most.redisCpuUsPerRun / one.redisCpuUsPerRun).toFixed(2)}x (${most.redisCpuUsPerRun.toFixed(1)} vs ${one.redisCpuUsPerRun.toFixed(1)} µs)`,
            met: most.redisCpuUsPerRun / one.redisCpuUsPerRun <= 1.25,
          },
        ];
  const targets: Target[] = [...flat, ...schedkit.flatMap((r) => [
    {
      name: `cluster, ${r.instances} instance(s): duplicates and missed`,
      target: '0 and 0',
      measured: `${r.duplicatesTotal} duplicates, ${r.missed} missed (${r.runsPerSec.toFixed(0)} runs/s); logged: ${incidentText(r.events)}`,
      met: r.duplicatesTotal === 0 && r.missed === 0,
    },
    {
      name: `cluster, ${r.instances} instance(s): spread across instances`,
      target: `max/min <= ${SPREAD_TARGET}`,
      measured: `${spreadText(r.spread)} (${r.runsPerInstance.join(' / ')} runs)`,
      met: r.spread <= SPREAD_TARGET,
    },
  ])];

  return {
    suite: 'cluster-throughput',
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    machine: host,
    tables,
    checks,
    targets,
    data: {
      plan,
      sizes: rows.map((r) => ({ ...r, spread: Number.isFinite(r.spread) ? r.spread : null })),
    },
  };
}

/** What the instances logged or emitted besides runs during a step ("none" when nothing); skips are listed too. */
function incidentText(events: Record<string, number>): string {
  const entries = Object.entries(events).sort(([a], [b]) => Number(isIncident(b)) - Number(isIncident(a)) || a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${n}× ${name}`).join(', ');
}

function spreadText(spread: number): string {
  return Number.isFinite(spread) ? spread.toFixed(2) : 'inf (an instance ran nothing)';
}
