/**
 * BullMQ job schedulers on the suite's Redis: `upsertJobScheduler` per job
 * (cron pattern with seconds) and one Worker with a high concurrency (200:
 * with 1,000 jobs every second, 20 to 500 gave about the same lateness,
 * while 1,000 and 20,000 fell behind and missed slots). Each produced job's
 * id is `repeat:<scheduler id>:<slot millis>`: the slot comes from there.
 * Completed jobs are removed (`removeOnComplete: true`, what a service
 * running a cron every second sets; the default keeps every one forever).
 */
import { Queue, Worker } from 'bullmq';
import { runContender } from './harness.js';

let queue: Queue;
let worker: Worker;
let fireFn: ((job: number, slotMs: number) => void) | undefined;

await runContender({
  async prepare(config) {
    const url = new URL(config.redisUrl!);
    const connection = { host: url.hostname, port: Number(url.port) };
    const name = config.prefix!;
    queue = new Queue(name, { connection });
    worker = new Worker(
      name,
      async (job) => {
        const slot = Number(job.id!.slice(job.id!.lastIndexOf(':') + 1));
        fireFn?.((job.data as { job: number }).job, slot);
      },
      { connection, concurrency: 200, autorun: false },
    );
    await queue.waitUntilReady();
    await worker.waitUntilReady();
  },
  async addJobs(from, to, fire) {
    fireFn = fire;
    const upserts: Array<Promise<unknown>> = [];
    for (let job = from; job < to; job++) {
      upserts.push(
        queue.upsertJobScheduler(`j${job}`, { pattern: '* * * * * *' }, { name: 'fire', data: { job }, opts: { removeOnComplete: true } }),
      );
    }
    await Promise.all(upserts);
  },
  async start() {
    void worker.run();
  },
  async stop() {
    await worker.close();
    await queue.close();
  },
});
