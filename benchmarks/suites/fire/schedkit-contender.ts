/**
 * What the two schedkit contenders share: jobs firing every second, each
 * handler reporting its slot, on a scheduler the contender builds.
 */
import type { Scheduler } from '../../../src/index.js';
import type { Contender } from './harness.js';
import type { ContenderConfig } from './protocol.js';

export function schedkitContender(build: (config: ContenderConfig) => Promise<{ scheduler: Scheduler; close: () => Promise<void> }>): Contender {
  let built: { scheduler: Scheduler; close: () => Promise<void> } | undefined;
  const scheduler = (): Scheduler => built!.scheduler;
  return {
    async prepare(config) {
      built = await build(config);
    },
    async addJobs(from, to, fire) {
      const registered: Array<Promise<void>> = [];
      for (let job = from; job < to; job++) {
        registered.push(scheduler().register({ name: `job-${job}`, schedule: '* * * * * *', handler: (ctx) => fire(job, ctx.scheduledAt.getTime()) }));
      }
      await Promise.all(registered);
    },
    async start() {
      await scheduler().start();
    },
    async stop() {
      await built!.close();
    },
  };
}
