/**
 * One pg-boss instance of the postgres suite, at pg-boss's documented
 * defaults. pg-boss 10 (the newest that runs on Node 20: 11 and 12 need
 * Node 22) keys a schedule by its queue, so each job is a queue `job-<n>`
 * (`createQueue`), its schedule (`schedule(name, '* * * * *', { job })`) and
 * its worker (`work(name, handler)`, which only records the run).
 *
 * A pg-boss job does not carry the occurrence it was scheduled for. Its
 * cron pass (every 30 s) files one forwarding job per schedule and minute
 * (`__pgboss__send-it`, `singletonKey` = the queue, `singletonSeconds` 60:
 * its `singleton_on` is the occurrence's minute), and the forwarding worker
 * creates the queue's job from it, in order. So after the stop, the n-th job
 * created in a queue is matched with the n-th forwarding job of that queue,
 * and its slot is that job's `singleton_on` (read from pg-boss's tables).
 * Errors it emits are counted; runs left unmatched are counted too.
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { fail, runInstance, type RunLog, type Tally } from './instance-kit.js';

/** pg-boss's default schema and the name of its forwarding queue (src/timekeeper.js). */
const SCHEMA = 'pgboss';
const SEND_IT = '__pgboss__send-it';

interface Run {
  job: number;
  id: string;
  queue: string;
  startedAt: number;
}

await runInstance((config, log, tally) => {
  if (config.every !== 'minute') throw new Error('pg-boss schedules are minute-granular: they run every minute only');
  const boss = new PgBoss({ connectionString: config.url });
  boss.on('error', (error: Error) => tally.add(`error: ${error.message.replace(/\d+/g, 'N').replace(/\(Queue: [^)]*\)/, '(Queue: …)').slice(0, 160)}`));
  const runs: Run[] = [];
  return {
    async start() {
      await boss.start();
      // Queues one at a time: each is a partition of pg-boss's job table, and
      // creating them concurrently deadlocks in PostgreSQL (seen: "deadlock
      // detected" in createQueue). Schedules and workers in batches.
      for (let i = 0; i < config.jobs; i++) await boss.createQueue(`job-${i}`);
      for (let from = 0; from < config.jobs; from += 100) {
        const batch: Array<Promise<unknown>> = [];
        for (let i = from; i < Math.min(from + 100, config.jobs); i++) {
          const queue = `job-${i}`;
          batch.push(
            boss.schedule(queue, '* * * * *', { job: i }).then(() =>
              boss.work<{ job: number }>(queue, async (jobs) => {
                for (const job of jobs) runs.push({ job: job.data.job, id: job.id, queue, startedAt: Date.now() });
              }),
            ),
          );
        }
        await Promise.all(batch);
      }
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 20_000, wait: true });
      await recordSlots(config.url, runs, log, tally);
    },
  };
}).catch(fail);

/** Matches every run with its occurrence (see the top of this file) and records it. */
async function recordSlots(url: string, runs: Run[], log: RunLog, tally: Tally): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, query_timeout: 60_000 });
  await client.connect();
  try {
    // Completed jobs stay in `job` for 12 hours by default before `archive`; both are read.
    const tables = [`${SCHEMA}.job`, `${SCHEMA}.archive`];
    const forwards = await client.query<{ queue: string; slot: number; state: string }>(
      tables
        .map((t) => `SELECT data->>'name' AS queue, (extract(epoch FROM singleton_on) * 1000)::float8 AS slot, state::text AS state FROM ${t} WHERE name = $1`)
        .join(' UNION ALL ') + ' ORDER BY queue, slot',
      [SEND_IT],
    );
    const created = await client.query<{ id: string; queue: string }>(
      tables.map((t) => `SELECT id::text AS id, name AS queue, created_on FROM ${t} WHERE name LIKE 'job-%'`).join(' UNION ALL ') + ' ORDER BY queue, created_on, id',
    );
    const slotsOf = new Map<string, number[]>();
    for (const row of forwards.rows) {
      // A forwarding job that failed created nothing (or not for sure): the order would no longer match.
      if (row.state === 'failed' || row.state === 'cancelled') tally.add(`forwarding job ${row.state}`);
      if (row.state !== 'completed' && row.state !== 'active') continue;
      let slots = slotsOf.get(row.queue);
      if (slots === undefined) slotsOf.set(row.queue, (slots = []));
      slots.push(Number(row.slot));
    }
    const slotOfJob = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const row of created.rows) {
      const n = seen.get(row.queue) ?? 0;
      seen.set(row.queue, n + 1);
      const slot = slotsOf.get(row.queue)?.[n];
      if (slot !== undefined) slotOfJob.set(row.id, slot);
    }
    for (const run of runs) {
      const slot = slotOfJob.get(run.id);
      if (slot === undefined) tally.add('run whose occurrence could not be matched');
      else log.record(run.job, slot, run.startedAt);
    }
  } finally {
    await client.end();
  }
}
