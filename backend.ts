/**
 * `schedkit/backend`: what a backend or lock author implements and checks
 * against. The `Backend` and `DistributedLock` contracts, the records they
 * exchange with the scheduler, the helpers every implementation shares, and
 * the conformance suites as functions (they register vitest tests: call them
 * at the top level of a test file). Every name is listed on purpose;
 * `api/backend.api.md` records them.
 */

// The backend contract and its records
export type { Backend } from './src/backend/backend.js';
export type {
  ActiveRunRef,
  CancelledRunRef,
  ClaimedRun,
  DueRunsClaim,
  DueRunsClaimed,
  HeartbeatReply,
  HistoryEntry,
  JobStatus,
  JobUpsert,
  JobUpsertResult,
  RateLimit,
  RunCancel,
  RunCancelResult,
  RunEnqueue,
  RunFinish,
  RunLookup,
  RunOutcome,
  RunPage,
  RunQuery,
  RunReschedule,
  RunRescheduleResult,
  RunState,
  RunSummary,
  SlotClaim,
  SlotClaimResult,
  StalledRun,
  StoredJob,
  StoredRun,
  SweepResult,
} from './src/backend/backend-records.js';
export type { ScheduleDescriptor } from './src/schedule/schedule.js';
export { jobStatus } from './src/backend/job-status.js';
export type { KeyFilter } from './src/backend/key-filter.js';
export { KeyTable } from './src/backend/key-table.js';

// The lock contract
export type { DistributedLock, LockLease, AcquireOptions, UsingOptions } from './src/lock/distributed-lock.js';
export { usingLock } from './src/lock/using-lock.js';
export type { Clock, TimerHandle } from './src/clock/clock.js';

// The errors a backend or lock reports
export { SchedkitError, ErrorCode, BackendUnavailableError, LockLostError, type SchedkitErrorOptions } from './src/errors/schedkit-error.js';

// Conformance suites (vitest; loaded when called)
export { describeBackendConformance, describeHeldRunsConformance, describeLockConformance } from './src/conformance/suites.js';
export type { BackendHarness, LockHarness } from './src/conformance/harness.js';
