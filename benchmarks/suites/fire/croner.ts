/**
 * croner: `new Cron('* * * * * *', fn)` per job. croner does not tell the
 * callback which slot it runs for; it never fires before a slot, so the slot
 * is the second the handler starts in (exact while lateness stays under 1 s).
 */
import { Cron } from 'croner';
import { runContender } from './harness.js';

const jobs: Cron[] = [];

await runContender({
  async prepare() {},
  async addJobs(from, to, fire) {
    for (let job = from; job < to; job++) {
      jobs.push(new Cron('* * * * * *', () => fire(job, Math.floor(Date.now() / 1_000) * 1_000)));
    }
  },
  async start() {},
  async stop() {
    for (const job of jobs) job.stop();
  },
});
