/**
 * One BullMQ instance of the cluster-throughput suite (the baseline): every
 * instance upserts the same `jobs` job schedulers (`* * * * * *`, what a
 * service does at boot) and runs one Worker whose processor only records its
 * run. Completed and failed jobs are removed at once (`removeOnComplete`,
 * `removeOnFail`), the cheapest setting for Redis. Started by `startScript`
 * (config in BENCH_CONFIG): prints `loaded`, waits for SIGUSR2, registers and
 * prints `ready`, and `result` once SIGTERM has closed the worker.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { scriptConfig } from '../../lib/processes.js';
import { countSentCommands, fail, loadedThenWait, RunLog, SecondTicker, serve, Tally } from './instance-kit.js';
import type { InstanceConfig } from './protocol.js';

const QUEUE = 'cluster-throughput';
/** Schedulers upserted at once while registering (ioredis pipelines them on one connection). */
const UPSERT_BATCH = 1000;

/** A scheduler's job id is `repeat:<schedulerId>:<slot ms>`. */
function slotOf(job: Job): number {
  const id = job.id ?? '';
  const slot = Number(id.slice(id.lastIndexOf(':') + 1));
  if (!Number.isFinite(slot)) throw new Error(`unexpected job id ${JSON.stringify(id)}: expected repeat:<id>:<ms>`);
  return slot;
}

async function main(): Promise<void> {
  const config = scriptConfig<InstanceConfig>();
  await loadedThenWait();
  const sent = countSentCommands();
  const log = new RunLog();
  const tally = new Tally();
  const connection = { host: config.host, port: config.port };
  const queue = new Queue(QUEUE, { connection, prefix: config.prefix });
  queue.on('error', (e) => tally.add(`queue error: ${e.message}`));
  for (let i = 0; i < config.jobs; i += UPSERT_BATCH) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(i + UPSERT_BATCH, config.jobs); j++) {
      batch.push(
        queue
          .upsertJobScheduler(
            `job-${j}`,
            { pattern: '* * * * * *' },
            { name: `job-${j}`, data: { job: j }, opts: { removeOnComplete: true, removeOnFail: true } },
          )
          .catch((error: unknown) => {
            // Every instance upserts the same schedulers at start, as replicas
            // of a service would; when two race, BullMQ 6.7 rejects the loser
            // although the scheduler and its next job exist. Counted, not fatal.
            if (!(error instanceof Error) || !error.message.includes('job ID already exists')) throw error;
            tally.add('upsertJobScheduler race: job ID already exists');
          }),
      );
    }
    await Promise.all(batch);
  }
  const worker = new Worker(
    QUEUE,
    async (job: Job<{ job: number }>) => {
      log.record(job.data.job, slotOf(job));
    },
    { connection, prefix: config.prefix, concurrency: config.concurrency },
  );
  worker.on('error', (e) => tally.add(`worker error: ${e.message}`));
  worker.on('failed', () => tally.add('job failed'));
  worker.on('stalled', () => tally.add('job stalled'));
  await worker.waitUntilReady();
  const ticker = new SecondTicker(sent);
  ticker.start();
  serve(config, {
    log,
    ticker,
    tally,
    stop: async () => {
      await worker.close();
      await queue.close();
    },
  });
}

main().catch(fail);
