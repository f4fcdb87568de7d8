import { SchedkitError } from '../src/errors/schedkit-error.js';
import type { JobInfo } from '../src/scheduler/types.js';
import { TENANT_OPTION, type Command, type Invocation } from './command.js';
import { withClient } from './connection.js';
import { describeSchedule } from '../src/schedule/describe-schedule.js';
import { fields, iso, json, table } from './format.js';
import { integer, UsageError } from './usage.js';

/** `schedkit jobs ...`: read and manage the jobs the workers registered. */

const tenant = TENANT_OPTION;


const tenantOf = (invocation: Invocation): { tenantId?: string } =>
  typeof invocation.values.tenant === 'string' ? { tenantId: invocation.values.tenant } : {};

function jobJson(job: JobInfo): Record<string, unknown> {
  return { ...job, tenantId: job.tenantId ?? null, nextRunAt: iso(job.nextRunAt), lastRunAt: iso(job.lastRunAt) };
}

function notFound(name: string, invocation: Invocation): SchedkitError {
  const of = typeof invocation.values.tenant === 'string' ? ` of tenant "${invocation.values.tenant}"` : '';
  return new SchedkitError('E_JOB_NOT_FOUND', `no job "${name}"${of} is stored (a worker stores a job when it registers it)`);
}

export const jobsCommands: Command[] = [
  {
    words: ['jobs', 'list'],
    args: [],
    summary: 'every stored job: status, schedule, next and last run, counts',
    options: { tenant: { ...tenant, help: 'only this tenant\'s jobs' } },
    usesStore: true,
    async run(invocation) {
      const jobs = await withClient(invocation.values, invocation.io.env, (client) => client.listJobs(tenantOf(invocation)));
      if (invocation.values.json === true) {
        invocation.io.stdout.write(json(jobs.map(jobJson)));
        return 0;
      }
      invocation.io.stdout.write(
        table(
          ['job', 'tenant', 'status', 'schedule', 'next run', 'last run', 'runs', 'failed', 'last error'],
          jobs.map((j) => [j.name, j.tenantId, j.status, describeSchedule(j.schedule), iso(j.nextRunAt), iso(j.lastRunAt), j.runCount, j.failCount, j.lastError?.slice(0, 60)]),
        ),
      );
      return 0;
    },
  },
  {
    words: ['jobs', 'show'],
    args: ['<name>'],
    summary: 'one job in full',
    options: { tenant },
    usesStore: true,
    async run(invocation) {
      const name = invocation.args[0]!;
      const job = await withClient(invocation.values, invocation.io.env, (client) => client.getJob(name, tenantOf(invocation)));
      if (job === null) throw notFound(name, invocation);
      if (invocation.values.json === true) {
        invocation.io.stdout.write(json(jobJson(job)));
        return 0;
      }
      invocation.io.stdout.write(
        fields([
          ['job', job.name],
          ['tenant', job.tenantId],
          ['status', job.status],
          ['schedule', describeSchedule(job.schedule)],
          ['next run', iso(job.nextRunAt)],
          ['last run', iso(job.lastRunAt)],
          ['last duration', job.lastDurationMs === null ? null : `${job.lastDurationMs} ms`],
          ['runs', job.runCount],
          ['failed', job.failCount],
          ['skipped', job.skippedCount],
          ['last error', job.lastError],
        ]),
      );
      return 0;
    },
  },
  {
    words: ['jobs', 'history'],
    args: ['<name>'],
    summary: 'a job\'s latest runs, newest first',
    options: { tenant, limit: { type: 'string', help: 'how many runs (default: all kept)', value: 'N' } },
    usesStore: true,
    async run(invocation) {
      const name = invocation.args[0]!;
      const limit = invocation.values.limit === undefined ? undefined : integer(invocation.values.limit, '--limit');
      const entries = await withClient(invocation.values, invocation.io.env, async (client) => {
        if ((await client.getJob(name, tenantOf(invocation))) === null) throw notFound(name, invocation);
        return client.history(name, { ...tenantOf(invocation), ...(limit === undefined ? {} : { limit }) });
      });
      if (invocation.values.json === true) {
        invocation.io.stdout.write(json(entries.map((e) => ({ ...e, scheduledAt: iso(e.scheduledAt), startedAt: iso(e.startedAt), finishedAt: iso(e.finishedAt) }))));
        return 0;
      }
      invocation.io.stdout.write(
        table(
          ['scheduled', 'outcome', 'attempt', 'took', 'instance', 'id', 'error or reason'],
          entries.map((e) => [
            iso(e.scheduledAt),
            e.outcome,
            e.attempt,
            e.startedAt !== null && e.finishedAt !== null ? `${e.finishedAt.getTime() - e.startedAt.getTime()} ms` : null,
            e.instanceId,
            e.id,
            (e.error ?? e.reason)?.slice(0, 80),
          ]),
        ),
      );
      return 0;
    },
  },
  {
    words: ['jobs', 'trigger'],
    args: ['<name>'],
    summary: 'run a job once, now or at a time, with its own params',
    options: {
      tenant,
      params: { type: 'string', help: 'params of this run, as JSON', value: 'JSON' },
      at: { type: 'string', help: 'when, ISO 8601 (default: now)', value: 'TIME' },
      id: { type: 'string', help: 'idempotency key: a repeat with the same id changes nothing', value: 'ID' },
    },
    usesStore: true,
    async run(invocation) {
      const name = invocation.args[0]!;
      const { params, at, id } = invocation.values;
      let parsed: unknown;
      if (typeof params === 'string') {
        try {
          parsed = JSON.parse(params);
        } catch (error) {
          throw new UsageError(`--params must be JSON: ${(error as Error).message}`);
        }
      }
      const run = await withClient(invocation.values, invocation.io.env, (client) =>
        client.trigger(name, {
          ...tenantOf(invocation),
          ...(params === undefined ? {} : { params: parsed as never }),
          ...(typeof at === 'string' ? { at } : {}),
          ...(typeof id === 'string' ? { id } : {}),
        }),
      );
      if (invocation.values.json === true) invocation.io.stdout.write(json({ ...run, tenantId: run.tenantId ?? null, dueAt: iso(run.dueAt) }));
      else invocation.io.stdout.write(run.created ? `triggered ${name}: run ${run.id}, due ${iso(run.dueAt)}\n` : `run ${run.id} of ${name} already exists (${run.state}): nothing enqueued\n`);
      return 0;
    },
  },
  ...(['pause', 'resume'] as const).map(
    (verb): Command => ({
      words: ['jobs', verb],
      args: ['<name>'],
      summary: verb === 'pause' ? 'stop a job\'s slots on every instance until resumed' : 'let a paused job run again',
      options: { tenant },
      usesStore: true,
      async run(invocation) {
        const name = invocation.args[0]!;
        await withClient(invocation.values, invocation.io.env, (client) => client[verb](name, tenantOf(invocation)));
        if (invocation.values.json === true) invocation.io.stdout.write(json({ name, tenantId: invocation.values.tenant ?? null, paused: verb === 'pause' }));
        else invocation.io.stdout.write(`${verb === 'pause' ? 'paused' : 'resumed'} ${name}\n`);
        return 0;
      },
    }),
  ),
  {
    words: ['jobs', 'remove'],
    args: ['<name>'],
    summary: 'delete a job\'s stored state, pending runs and history (a worker that still registers it stores it again)',
    options: { tenant },
    usesStore: true,
    async run(invocation) {
      const name = invocation.args[0]!;
      const removed = await withClient(invocation.values, invocation.io.env, (client) => client.remove(name, tenantOf(invocation)));
      if (!removed) throw notFound(name, invocation);
      if (invocation.values.json === true) invocation.io.stdout.write(json({ name, tenantId: invocation.values.tenant ?? null, removed }));
      else invocation.io.stdout.write(`removed ${name}\n`);
      return 0;
    },
  },
];
