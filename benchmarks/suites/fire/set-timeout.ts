/**
 * Baseline: the loop a user writes by hand. One timer per job, armed for the
 * job's next second boundary and re-armed from the slot it just ran (not
 * from "now", so a late wake does not shift or repeat slots).
 */
import { runContender, type FireFn } from './harness.js';

const timers: Array<NodeJS.Timeout | undefined> = [];

function every(job: number, fire: FireFn): void {
  let slot = Math.ceil(Date.now() / 1_000) * 1_000;
  const tick = (): void => {
    fire(job, slot);
    slot += 1_000;
    timers[job] = setTimeout(tick, slot - Date.now());
  };
  timers[job] = setTimeout(tick, slot - Date.now());
}

await runContender({
  async prepare() {},
  async addJobs(from, to, fire) {
    for (let job = from; job < to; job++) every(job, fire);
  },
  async start() {},
  async stop() {
    for (const timer of timers) clearTimeout(timer);
  },
});
