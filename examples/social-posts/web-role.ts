// The web role: schedules, lists, moves and cancels posts with a SchedulerClient. It has no handler and runs nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, RunInfo, SchedulerClient } from 'schedkit';
import { CANCELLED, DEADLINE_MS, MOVED, PLAN, PLATFORMS, TENANTS, jobName, planned, runId } from './plan.js';

/**
 * Schedules the plan's posts, lists them, moves one and cancels one; then
 * waits until every post's run has finished and checks, through the client,
 * how each one ended. True when every check held.
 */
export async function runWeb(client: SchedulerClient, logger: Logger): Promise<boolean> {
  const deadline = Date.now() + DEADLINE_MS;
  await jobsStored(client, logger, deadline);

  const base = Date.now();
  for (const post of PLAN) {
    const run = await client.trigger(jobName(post.platform), {
      tenantId: post.tenantId,
      params: { postId: post.postId },
      at: new Date(base + post.inMs),
      id: runId(post.postId), // a second click on "schedule" enqueues nothing
    });
    logger.info('post scheduled', { tenantId: post.tenantId, postId: post.postId, id: run.id, dueAt: run.dueAt, created: run.created });
  }
  const again = planned('a1');
  const duplicate = await client.trigger(jobName(again.platform), {
    tenantId: again.tenantId,
    params: { postId: again.postId },
    at: new Date(base + again.inMs),
    id: runId(again.postId),
  });
  logger.info('post scheduled', { tenantId: again.tenantId, postId: again.postId, id: duplicate.id, dueAt: duplicate.dueAt, created: duplicate.created });

  for (const tenantId of TENANTS) {
    const { runs } = await client.listRuns({ tenantId, state: 'pending' });
    logger.info('pending posts', { tenantId, ids: runs.map((run) => run.id).sort() });
  }

  const moved = planned(MOVED.postId);
  const from = new Date(base + moved.inMs);
  const to = new Date(base + MOVED.toInMs);
  const movedRun = await client.reschedule(runId(moved.postId), { tenantId: moved.tenantId, at: to });
  logger.info('post moved', { tenantId: moved.tenantId, postId: moved.postId, from, to: movedRun.scheduledAt, dueAt: movedRun.dueAt });

  const cancelled = planned(CANCELLED.postId);
  const cancelledRun = await client.cancel(runId(cancelled.postId), { tenantId: cancelled.tenantId });
  logger.info('post cancelled', { tenantId: cancelled.tenantId, postId: cancelled.postId, state: cancelledRun.state, outcome: cancelledRun.outcome });
  // Idempotent: cancelling it again changes nothing and answers the same.
  const cancelledAgain = await client.cancel(runId(cancelled.postId), { tenantId: cancelled.tenantId });
  logger.info('post cancelled again', { tenantId: cancelled.tenantId, postId: cancelled.postId, state: cancelledAgain.state, outcome: cancelledAgain.outcome });

  const finished = await allFinished(client, logger, deadline);
  if (finished === null) return false;
  return check(client, logger, finished, to);
}

/** The worker stores the jobs when it registers them; a web process may start first. */
async function jobsStored(client: SchedulerClient, logger: Logger, deadline: number): Promise<void> {
  for (const tenantId of TENANTS) {
    for (const platform of PLATFORMS) {
      while ((await client.getJob(jobName(platform), { tenantId })) === null) {
        if (Date.now() > deadline) throw new Error(`job ${tenantId}/${jobName(platform)} was never stored: is a worker running?`);
        await sleep(100);
      }
    }
  }
  logger.info('jobs found', { tenants: TENANTS, jobs: PLATFORMS.map(jobName) });
}

/** Polls `getRun` until every post's run is `done` (finished runs stay readable until the retention sweep). */
async function allFinished(client: SchedulerClient, logger: Logger, deadline: number): Promise<Map<string, RunInfo> | null> {
  for (;;) {
    const runs = new Map<string, RunInfo>();
    for (const post of PLAN) {
      const run = await client.getRun(runId(post.postId), { tenantId: post.tenantId });
      if (run?.state === 'done') runs.set(post.postId, run);
    }
    if (runs.size === PLAN.length) return runs;
    if (Date.now() > deadline) {
      logger.error('timed out waiting for the posts', { finished: [...runs.keys()] });
      return null;
    }
    await sleep(200);
  }
}

async function check(client: SchedulerClient, logger: Logger, runs: Map<string, RunInfo>, movedTo: Date): Promise<boolean> {
  for (const [postId, run] of runs) logger.info('post finished', { tenantId: run.tenantId, postId, id: run.id, outcome: run.outcome, attempt: run.attempt });
  const outcomesRight = PLAN.every((post) => runs.get(post.postId)?.outcome === (post.postId === CANCELLED.postId ? 'cancelled' : 'success'));

  // The moved post's history: the move, then one run, at its new time.
  const moved = planned(MOVED.postId);
  const history = await client.history(jobName(moved.platform), { tenantId: moved.tenantId, limit: 50 });
  const entries = history.filter((entry) => entry.id === runId(moved.postId));
  const successes = entries.filter((entry) => entry.outcome === 'success');
  const movedOnTime =
    entries.some((entry) => entry.outcome === 'rescheduled') &&
    successes.length === 1 &&
    successes[0]!.scheduledAt.getTime() === movedTo.getTime() &&
    successes[0]!.startedAt !== null &&
    successes[0]!.startedAt.getTime() >= movedTo.getTime();
  logger.info('moved post history', {
    postId: moved.postId,
    entries: entries.map((entry) => ({ outcome: entry.outcome, scheduledAt: entry.scheduledAt, startedAt: entry.startedAt })),
  });

  const ok = outcomesRight && movedOnTime;
  logger[ok ? 'info' : 'error'](ok ? 'web: every post ended as scheduled' : 'web: a check failed', { outcomesRight, movedOnTime });
  return ok;
}
