import type { Backend } from '../backend/backend.js';
import type { Clock } from '../clock/clock.js';
import type { SchedulerConfig } from '../config/config.js';
import { parseJobKey } from '../job/job-key.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsCollector } from '../observability/metrics.js';
import type { BackendHealth } from './backend-health.js';
import type { SchedulerEventEmitter } from './events.js';
import type { Membership } from './membership.js';
import { Periodic } from './periodic.js';

/** Keys touched per backend call in the sweep. */
const TOUCH_BATCH = 10_000;

export interface MaintenanceDeps {
  backend: Backend;
  clock: Clock;
  config: SchedulerConfig;
  health: BackendHealth;
  logger: Logger;
  metrics: MetricsCollector;
  events: SchedulerEventEmitter;
  /** Keys of the jobs registered here (kept alive by the sweep). */
  keys: () => Iterable<string>;
  membership: Membership;
  /** Re-measures the local clock's offset from the backend's. */
  align: () => Promise<unknown>;
}

/** Heartbeats between two measurements of the clock offset (about a minute). */
const ALIGN_EVERY = 30;

/**
 * The scheduler's background duties, on every instance:
 * - every 2 s (or `lockRefreshMs` if shorter), say this instance is alive and
 *   learn which others are, to spread slots;
 * - every `lockRefreshMs`, reap runs whose instance stopped heartbeating (so
 *   a dead instance's run is recovered within lockTtlMs + one refresh);
 * - every `sweepIntervalMs`, mark this instance's jobs as seen, then delete
 *   old finished one-off runs and orphaned job state.
 */
export class Maintenance {
  private readonly heartbeater: Periodic;
  private readonly reaper: Periodic;
  private readonly sweeper: Periodic;

  constructor(private readonly deps: MaintenanceDeps) {
    this.deps = deps;
    // Instances learn of each other within a couple of seconds, so a new one
    // soon takes its share of slots; a dead one drops out after lockTtlMs.
    const heartbeatMs = Math.min(deps.config.lockRefreshMs, 2_000);
    this.heartbeater = new Periodic(deps.clock, () => this.heartbeat().catch((e: unknown) => deps.health.report(e)), heartbeatMs);
    this.reaper = new Periodic(deps.clock, () => this.reap(), deps.config.lockRefreshMs);
    this.sweeper = new Periodic(deps.clock, () => this.sweep(), deps.config.sweepIntervalMs);
  }

  start(): void {
    this.heartbeater.start();
    this.reaper.start();
    this.sweeper.start();
  }

  stop(): void {
    this.heartbeater.stop();
    this.reaper.stop();
    this.sweeper.stop();
  }

  private beats = 0;

  /** Says this instance is alive and refreshes the list of live ones; now and then re-aligns the clock. */
  async heartbeat(): Promise<void> {
    const { backend, config, membership } = this.deps;
    membership.update(await backend.heartbeatInstance(config.instanceId, config.lockTtlMs));
    // Clocks drift (NTP steps, suspended VMs): measure the offset again now and then.
    if (++this.beats % ALIGN_EVERY === 0) await this.deps.align();
  }

  private async reap(): Promise<void> {
    const { backend, metrics, logger, events, health } = this.deps;
    try {
      for (const run of await backend.reapStalledRuns()) {
        const { name, tenantId } = parseJobKey(run.key);
        metrics.runStalled(name, tenantId);
        logger.warn('run stalled: its instance stopped heartbeating', {
          job: name,
          tenantId,
          id: run.id,
          attempt: run.attempt,
          instanceId: run.instanceId,
          requeued: run.requeued,
        });
        events.emit('run:stalled', {
          name,
          tenantId,
          id: run.id,
          kind: run.kind,
          scheduledAt: new Date(run.scheduledAt),
          attempt: run.attempt,
          instanceId: run.instanceId,
          requeued: run.requeued,
        });
      }
    } catch (error) {
      health.report(error);
    }
  }

  private async sweep(): Promise<void> {
    const { backend, config, logger, health } = this.deps;
    try {
      const keys = [...this.deps.keys()];
      for (let i = 0; i < keys.length; i += TOUCH_BATCH) await backend.touchJobs(keys.slice(i, i + TOUCH_BATCH));
      const result = await backend.sweep({ retentionMs: config.retentionMs, orphanTimeoutMs: config.orphanTimeoutMs });
      if (result.jobsDeleted + result.runsDeleted > 0) logger.info('swept old runs and orphaned jobs', { ...result });
    } catch (error) {
      health.report(error);
    }
  }
}
