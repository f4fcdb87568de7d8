import { SchedkitError } from '../src/errors/schedkit-error.js';
import type { RunInfo } from '../src/scheduler/types.js';
import { TENANT_OPTION, type Command, type Invocation } from './command.js';
import { withClient } from './connection.js';
import { fields, iso, json, table } from './format.js';
import { integer, UsageError } from './usage.js';

/** `schedkit runs ...`: pending, retrying and running runs, one-off or slot, across the fleet. */

const tenant = TENANT_OPTION;
const job = { type: 'string', help: 'the job (needed for a slot run\'s id)', value: 'NAME' } as const;
const STATES = ['pending', 'running', 'retrying'] as const;


/** The run options every `runs` command takes: `--tenant`, `--job`. */
function runOptions(invocation: Invocation): { tenantId?: string; name?: string } {
  const { tenant: tenantId, job: name } = invocation.values;
  return { ...(typeof tenantId === 'string' ? { tenantId } : {}), ...(typeof name === 'string' ? { name } : {}) };
}

function runJson(run: RunInfo): Record<string, unknown> {
  return { ...run, tenantId: run.tenantId ?? null, params: run.params ?? null, scheduledAt: iso(run.scheduledAt), dueAt: iso(run.dueAt) };
}

function printRun(invocation: Invocation, run: RunInfo, said?: string): void {
  if (invocation.values.json === true) {
    invocation.io.stdout.write(json(runJson(run)));
    return;
  }
  if (said !== undefined) invocation.io.stdout.write(`${said}\n`);
  invocation.io.stdout.write(
    fields([
      ['run', run.id],
      ['job', run.name],
      ['tenant', run.tenantId],
      ['kind', run.kind],
      ['state', run.state],
      ['due', iso(run.dueAt)],
      ['scheduled', iso(run.scheduledAt)],
      ['attempt', run.attempt],
      ['outcome', run.outcome],
      ['instance', run.instanceId],
      ['params', run.params === undefined ? null : JSON.stringify(run.params)],
    ]),
  );
}

export const runsCommands: Command[] = [
  {
    words: ['runs', 'list'],
    args: [],
    summary: 'runs not finished yet: pending one-off runs, retries, running runs',
    options: {
      tenant,
      job: { ...job, help: 'only this job\'s runs' },
      state: { type: 'string', help: `only runs in this state: ${STATES.join(', ')}`, value: 'STATE' },
      limit: { type: 'string', help: 'at most this many (1 to 1000, default 100)', value: 'N' },
    },
    usesStore: true,
    async run(invocation) {
      const { state, limit } = invocation.values;
      if (state !== undefined && !STATES.includes(state as (typeof STATES)[number])) {
        throw new UsageError(`--state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
      }
      const page = await withClient(invocation.values, invocation.io.env, (client) =>
        client.listRuns({
          ...runOptions(invocation),
          ...(state === undefined ? {} : { state: state as (typeof STATES)[number] }),
          ...(limit === undefined ? {} : { limit: integer(limit, '--limit') }),
        }),
      );
      if (invocation.values.json === true) {
        invocation.io.stdout.write(json({ runs: page.runs.map(runJson), cursor: page.cursor }));
        return 0;
      }
      invocation.io.stdout.write(
        table(
          ['run', 'job', 'tenant', 'kind', 'state', 'due', 'attempt', 'instance'],
          page.runs.map((r) => [r.id, r.name, r.tenantId, r.kind, r.state, iso(r.dueAt), r.attempt, r.instanceId]),
        ),
      );
      if (page.cursor !== null) invocation.io.stdout.write('(more runs: narrow with --job or --state, or use --json and its cursor)\n');
      return 0;
    },
  },
  {
    words: ['runs', 'show'],
    args: ['<id>'],
    summary: 'one run',
    options: { tenant, job },
    usesStore: true,
    async run(invocation) {
      const id = invocation.args[0]!;
      const run = await withClient(invocation.values, invocation.io.env, (client) => client.getRun(id, runOptions(invocation)));
      if (run === null) throw new SchedkitError('E_RUN_NOT_FOUND', `no run "${id}" (a slot run's id also needs --job)`);
      printRun(invocation, run);
      return 0;
    },
  },
  {
    words: ['runs', 'cancel'],
    args: ['<id>'],
    summary: 'cancel a pending or retrying run (--abort: a running one too)',
    options: { tenant, job, abort: { type: 'boolean', help: 'also abort it if it is running (its signal aborts)' } },
    usesStore: true,
    async run(invocation) {
      const id = invocation.args[0]!;
      const run = await withClient(invocation.values, invocation.io.env, (client) => client.cancel(id, { ...runOptions(invocation), ...(invocation.values.abort === true ? { abort: true } : {}) }));
      printRun(invocation, run, `cancelled ${id}`);
      return 0;
    },
  },
  {
    words: ['runs', 'reschedule'],
    args: ['<id>'],
    summary: 'move a pending run to another time',
    options: { tenant, job, at: { type: 'string', help: 'the new time, ISO 8601 (required)', value: 'TIME' } },
    usesStore: true,
    async run(invocation) {
      const id = invocation.args[0]!;
      const at = invocation.values.at;
      if (typeof at !== 'string') throw new UsageError('runs reschedule needs --at TIME');
      const run = await withClient(invocation.values, invocation.io.env, (client) => client.reschedule(id, { ...runOptions(invocation), at }));
      printRun(invocation, run, `rescheduled ${id} to ${iso(run.dueAt)}`);
      return 0;
    },
  },
];
