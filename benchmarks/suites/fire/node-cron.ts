/** node-cron: `cron.schedule('* * * * * *', fn)` per job; the slot is the context's `date`. */
import cron, { type ScheduledTask } from 'node-cron';
import { runContender } from './harness.js';

const tasks: ScheduledTask[] = [];

await runContender({
  async prepare() {},
  async addJobs(from, to, fire) {
    for (let job = from; job < to; job++) {
      // Missed executions are counted by the suite; printing each one (node-cron's default) would cost more than firing.
      tasks.push(cron.schedule('* * * * * *', (context) => fire(job, context.date.getTime()), { suppressMissedWarning: true }));
    }
  },
  async start() {},
  async stop() {
    // All at once: awaiting one by one lets the remaining tasks keep firing in between.
    await Promise.all(tasks.map((task) => task.stop()));
    await Promise.all(tasks.map((task) => task.destroy()));
  },
});
