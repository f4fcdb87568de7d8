/**
 * What the two schedkit contenders share: jobs firing every second, each
 * handler reporting its slot, on a scheduler the contender builds with the
 * logger given (which counts errors, warnings and misfire drops), and the
 * scheduler's failure-side events counted too (outages, reruns, skips): the
 * suite shows them and sorts every slot that never ran into skipped by
 * policy or lost.
 */
import { type Logger, type Scheduler, type SchedulerConfigInput } from 'schedkit';
import { countIncidentEvents, IncidentLogger, type IncidentSink } from '../../lib/incidents.js';
import type { Contender, Incidents } from './harness.js';
import type { ContenderConfig } from './protocol.js';

/** `job-<n>` -> n. */
const jobIndex = (name: string): number => Number(name.slice('job-'.length));

export function schedkitContender(
  settings: SchedulerConfigInput,
  build: (config: ContenderConfig, logger: Logger) => Promise<{ scheduler: Scheduler; close: () => Promise<void> }>,
  /** Slot runs left pending in the store after the stop (a store that outlives the process), read after it. */
  pendingAfterStop?: (config: ContenderConfig) => Promise<Array<{ name: string; slot: number }>>,
): Contender {
  let contenderConfig: ContenderConfig | undefined;
  let built: { scheduler: Scheduler; close: () => Promise<void> } | undefined;
  const scheduler = (): Scheduler => built!.scheduler;
  const incidents: Incidents = { counts: {}, skipped: new Map(), drops: [] };
  const sink: IncidentSink = {
    count: (name) => {
      incidents.counts[name] = (incidents.counts[name] ?? 0) + 1;
    },
    skipped: (job, slot) => {
      const index = jobIndex(job);
      let slots = incidents.skipped.get(index);
      if (slots === undefined) incidents.skipped.set(index, (slots = new Set()));
      slots.add(slot);
    },
    dropped: (drop) => {
      incidents.counts['misfire dropped'] = (incidents.counts['misfire dropped'] ?? 0) + drop.dropped;
      incidents.drops.push({ job: jobIndex(drop.job), dropped: drop.dropped, after: drop.after, before: drop.before });
    },
  };
  return {
    async prepare(config) {
      contenderConfig = config;
      built = await build(config, new IncidentLogger(sink));
      countIncidentEvents(built.scheduler, sink);
    },
    async addJobs(from, to, fire) {
      const registered: Array<Promise<unknown>> = [];
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
      if (pendingAfterStop === undefined) return;
      incidents.pending = new Map();
      for (const { name, slot } of await pendingAfterStop(contenderConfig!)) {
        const index = jobIndex(name);
        let slots = incidents.pending.get(index);
        if (slots === undefined) incidents.pending.set(index, (slots = new Set()));
        slots.add(slot);
      }
    },
    incidents: () => incidents,
  };
}
