/**
 * Error texts, in one place so they stay consistent: each says where the
 * problem is (job, field, option) and what was expected.
 */

/** `job "acme/report"` or `job "report"` — how errors name a job. */
export function jobLabel(name: string, tenantId?: string): string {
  return tenantId === undefined ? `job "${name}"` : `job "${tenantId}/${name}"`;
}

/**
 * How errors name a run: `run "post-1" of job "acme/publish"`, or, when its
 * job is not known, `one-off run "post-1" of tenant "acme"` (`... without tenant`).
 */
export function runLabel(id: string, name: string | undefined, tenantId: string | undefined): string {
  if (name !== undefined) return `run "${id}" of ${jobLabel(name, tenantId)}`;
  return `one-off run "${id}" ${tenantId === undefined ? 'without tenant' : `of tenant "${tenantId}"`}`;
}

/** Short, printable rendering of a bad value for messages (never huge). */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) text = String(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = 'a function';
  else if (typeof value === 'symbol') text = value.toString();
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  else if (Array.isArray(value)) text = 'an array';
  else text = 'an object';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Who calls `connect()` on a Redis backend or lock: `'caller'` when it was
 * built by hand, `'app'` when a module built it and connects it in the app's
 * start hook. Only the "not connected" text depends on it: it names the fix
 * the user can apply.
 */
export type ConnectedBy = 'caller' | 'app';

function howToConnect(connectedBy: ConnectedBy): string {
  return connectedBy === 'app'
    ? '— it connects in the app\'s start hook: call await app.start() (or app.run()) before using the scheduler'
    : '(call connect() first)';
}

export const messages = {
  invalidSchedule: (job: string, field: string, why: string) => `${job}: invalid ${field}: ${why}`,
  invalidJob: (job: string, field: string, why: string) => `${job}: invalid ${field}: ${why}`,
  invalidName: (field: string, value: unknown) =>
    `invalid ${field} ${show(value)}: expected 1-200 characters from [A-Za-z0-9_.:-]`,
  invalidParams: (where: string, path: string, why: string) => `${where}: params${path} ${why}`,
  invalidArgument: (call: string, field: string, why: string) => `${call}: invalid ${field}: ${why}`,
  duplicateJob: (job: string) => `${job} is already registered on this scheduler (pass { replace: true } to replace it)`,
  jobNotFound: (job: string, suggestion?: string) =>
    `${job} is not registered on this scheduler${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
  jobNotStored: (job: string) => `${job} is not stored: no scheduler has registered it (or it was removed)`,
  runNotFound: (run: string) => `${run} was not found: never enqueued, or finished and swept after the retention period`,
  runFinished: (run: string, outcome: string, call: string) => `${call}: ${run} has finished (outcome "${outcome}"); nothing changed`,
  runRunning: (run: string) => `reschedule: ${run} is running; a running run can be cancelled (cancel with { abort: true }), not moved`,
  runCancelled: (run: string) => `${run} was cancelled while running`,
  appClientModeJobs: () =>
    'App: the container is in client mode (schedulerModule({ client: true })) but binds job registrars or @Scheduled classes: nothing here would run them; run jobs in a process that loads schedulerModule() without client: true',
  appClientModeScheduler: () => 'App.scheduler: the container is in client mode (schedulerModule({ client: true })) and has no scheduler; use app.client',
  timeout: (job: string, ms: number) => `${job} timed out after ${ms} ms`,
  lockLost: (resource: string, why: string) => `lock "${resource}" was lost: ${why}`,
  lockNotAcquired: (resource: string) => `lock "${resource}" is held by another owner`,
  notStarted: (call: string) => `${call}: the scheduler is not started`,
  stopped: (call: string) => `${call}: the scheduler is stopping or stopped`,
  stoppedAfterStart: (call: string) => `${call}: the scheduler was stopped; call start() again first`,
  handlerThrewNonError: (job: string, value: unknown) => `${job} handler threw a non-Error value: ${show(value)}`,
  hookTimeout: (hook: string, phase: 'start' | 'stop', ms: number) =>
    `lifecycle hook "${hook}" did not finish its ${phase} within ${ms} ms`,
  startFailed: (hook: string, why: string) => `start failed in hook "${hook}": ${why}; started hooks were rolled back`,
  stopFailed: (count: number, why: string) => `stop finished with ${count} error(s): ${why}`,
  handlerThrewUninspectable: (job: string) => `${job} handler threw a value that cannot be inspected`,
  runAbortedNonError: (job: string, reason: unknown) => `${job} was aborted with a non-Error reason: ${show(reason)}`,
  storedParamsCorrupt: (why: string) => `stored params are not valid JSON: ${why}`,
  invalidLogLevel: (level: unknown, levels: readonly string[]) =>
    `createWinstonLogger: invalid level ${show(level)}: expected one of ${levels.join(', ')}`,
  invalidHook: (why: string) => `Lifecycle.append: invalid hook: ${why}`,
  appendWhileBusy: (hook: string, state: string) =>
    `Lifecycle.append: cannot append hook "${hook}" while the lifecycle is ${state}`,
  hookThrewNonError: (hook: string, phase: 'start' | 'stop', value: unknown) =>
    `lifecycle hook "${hook}" failed its ${phase} with a non-Error value: ${show(value)}`,
  phaseDeadlinePassed: (hook: string, phase: 'start' | 'stop', ms: number) =>
    `the ${phase} deadline of ${ms} ms passed before lifecycle hook "${hook}" ran`,
  scheduledOnStatic: (target: string, method: string) =>
    `@Scheduled on ${target}.${method}: only instance methods can be scheduled`,
  scheduledNotAMethod: (target: string, method: string) => `@Scheduled on ${target}.${method}: not a method`,
  backendJobNotFound: (key: string) => `job "${key}" has no stored state (never registered, or removed)`,
  runStalled: (instanceId: string, overdueMs: number) =>
    `instance "${instanceId}" stopped heartbeating: the run's lease had expired ${overdueMs} ms before it was reaped`,
  lockExpired: (at: number) => `it expired at ${new Date(at).toISOString()}`,
  lockTakenOver: (fencingToken: number) => `it expired and was taken over by another owner (fencing token ${fencingToken})`,
  lockReleased: () => 'it was released',
  backendNotConnected: (call: string, connectedBy: ConnectedBy, backend = 'RedisBackend') =>
    `${backend}.${call}: not connected ${howToConnect(connectedBy)}`,
  backendClosed: (call: string, backend = 'RedisBackend') => `${backend}.${call}: the backend is closed`,
  postgresBackendOption: (field: string, why: string, value: unknown) => `${field} ${why}, got ${show(value)}`,
  postgresUnexpectedAnswer: (fn: string, why: string) => `PostgresBackend: unexpected answer from function "${fn}": ${why}`,
  redisUnexpectedReply: (script: string, why: string) =>
    `RedisBackend: unexpected reply from script "${script}": ${why}`,
  redisBackendOption: (field: string, why: string, value: unknown) => `${field} ${why}, got ${show(value)}`,
  invalidBackendKey: (call: string, field: string, value: unknown) =>
    `${call}: invalid ${field} ${show(value)}: expected a job key as jobKey() builds it ([A-Za-z0-9_.:/-], 1-401 characters)`,
  invalidBackendRunId: (call: string, value: unknown) =>
    `${call}: invalid run id ${show(value)}: expected 1-200 characters from [A-Za-z0-9_.:-]`,
  invalidBackendRateKey: (call: string, value: unknown) =>
    `${call}: invalid rate limit key ${show(value)}: expected 1-200 characters from [A-Za-z0-9_.:-]`,
  backendTriggerIdTaken: (key: string, id: string) =>
    `enqueueRun: run id ${show(id)} is taken by a run of another job of the tenant of ${show(key)} (a one-off run's id names one run among the jobs of its tenant)`,
  invalidBackendNumber: (call: string, field: string, value: unknown) =>
    `${call}: invalid ${field} ${show(value)}: expected a finite number`,
  lockQuorumUnavailable: (where: string, reachable: number, total: number, needed: number, why: string) =>
    `${where}: lock quorum unavailable: ${reachable} of ${total} masters reachable, ${needed} needed${why === '' ? '' : ` (${why})`}`,
  lockFenceQuorumUnavailable: (where: string, confirmed: number, needed: number) =>
    `${where}: lock quorum unavailable: the fencing token was confirmed on ${confirmed} masters, ${needed} needed`,
  lockTakenOverByOther: () => 'it expired or was released and was taken over by another owner',
  lockExpiredOnServers: () => 'it expired on the Redis masters before it was extended',
  lockUnreachable: (why: string) => `Redis unreachable: ${why}`,
  lockNotConnected: (call: string, connectedBy: ConnectedBy) => `${call}: the RedlockLock is not connected ${howToConnect(connectedBy)}`,
  lockClosed: (call: string) => `${call}: the RedlockLock is closed`,
  redlockOption: (field: string, why: string, value: unknown) => `${field} ${why}, got ${show(value)}`,
  postgresLockOption: (field: string, why: string, value: unknown) => `${field} ${why}, got ${show(value)}`,
  postgresLockClosed: (call: string) => `${call}: the PostgresLock is closed`,
  postgresLockUnreachable: (why: string) => `PostgreSQL unreachable: ${why}`,
  postgresLockRefused: (why: string) => `PostgreSQL refused the extension: ${why}`,
} as const;
