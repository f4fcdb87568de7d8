/**
 * Which job holds each one-off run id, per tenant: a trigger id names one run
 * among the jobs of its tenant, so `getRun` finds it without the job key and
 * `enqueueRun` refuses an id another job of the tenant holds (the Redis
 * backend's `trigger-ids:<tenant>` hash). An entry lives as long as its run
 * record: set on enqueue, deleted with the record (sweep, job removal).
 */
import type { JobState } from './job-state.js';

/** One-off run ids per tenant (`''` for jobs without tenant) and the job holding each. */
export class TriggerIds {
  private readonly byTenant = new Map<string, Map<string, JobState>>();

  /** The job holding run `id` in `tenantId`, or undefined. */
  holder(tenantId: string, id: string): JobState | undefined {
    return this.byTenant.get(tenantId)?.get(id);
  }

  /** Records that `job` holds run `id` in its tenant. */
  add(job: JobState, id: string): void {
    const tenant = job.tenantId ?? '';
    let ids = this.byTenant.get(tenant);
    if (ids === undefined) this.byTenant.set(tenant, (ids = new Map()));
    ids.set(id, job);
  }

  /** Forgets run `id` of `job`, when `job` is the one holding it. */
  delete(job: JobState, id: string): void {
    const tenant = job.tenantId ?? '';
    const ids = this.byTenant.get(tenant);
    if (ids === undefined || ids.get(id) !== job) return;
    ids.delete(id);
    if (ids.size === 0) this.byTenant.delete(tenant);
  }
}
