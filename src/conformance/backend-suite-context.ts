import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import type { ClaimedRun, JobUpsert, RunEnqueue, RunFinish, RunSummary, SlotClaim, StoredJob } from '../backend/backend.js';
import { jobUpsert, type BackendHarness } from './harness.js';

/** Lease used by claims in these tests; `PAST_LEASE` is comfortably beyond it. */
export const LEASE = 300;
export const PAST_LEASE = 450;
export const MINUTE = 60_000;

/**
 * What every part of the backend suite shares: the harness of the test
 * running now, and builders of the records its calls take. The parts live in
 * separate files and are described at the suite's top level, so the harness
 * reaches them through `onHarness` rather than through a shared closure.
 */
export interface BackendSuiteContext {
  /** Calls `use` with each test's fresh harness, before the test runs. */
  onHarness(use: (harness: BackendHarness) => void): void;
  /** Stores one job and answers its stored state. */
  upsert(key: string, overrides?: Partial<JobUpsert>): Promise<StoredJob>;
  /** A claim of `slot` by `instance-a`, leased for `LEASE`, the next slot a minute later. */
  slotClaim(key: string, slot: number, overrides?: Partial<SlotClaim>): SlotClaim;
  /** Claims a slot; fails the test unless it is claimed. */
  claimOk(key: string, slot: number, overrides?: Partial<SlotClaim>): Promise<ClaimedRun>;
  /** Enqueues a one-off run (kind `trigger`, no params, one attempt). */
  enqueue(key: string, id: string, dueAt: number, overrides?: Partial<RunEnqueue>): Promise<{ run: RunSummary; created: boolean }>;
  /** A successful finish of `run` by `instance-a`. */
  finishOf(run: ClaimedRun, overrides?: Partial<RunFinish>): RunFinish;
  /** `count` fresh attempt ids. */
  ids(count: number): string[];
  /** The stored job; fails the test when there is none. */
  stored(key: string): Promise<StoredJob>;
}

/**
 * Registers, in the calling `describe`, the hooks that give each test a fresh
 * harness from `makeHarness` and close it afterwards, and answers the context
 * the suite's parts share.
 */
export function backendSuiteContext(makeHarness: () => Promise<BackendHarness>): BackendSuiteContext {
  let harness: BackendHarness;
  const users: Array<(harness: BackendHarness) => void> = [];

  beforeEach(async () => {
    harness = await makeHarness();
    for (const use of users) use(harness);
  });

  afterEach(async () => {
    await harness.close();
  });

  async function upsert(key: string, overrides: Partial<JobUpsert> = {}): Promise<StoredJob> {
    const [result] = await harness.backend.upsertJobs([jobUpsert(key, overrides)]);
    return result!.stored;
  }

  function slotClaim(key: string, slot: number, overrides: Partial<SlotClaim> = {}): SlotClaim {
    return {
      key,
      slot,
      runId: randomUUID(),
      instanceId: 'instance-a',
      leaseMs: LEASE,
      definitionHash: 'h1',
      overlap: 'skip',
      nextRunAt: slot + MINUTE,
      requeueOnStall: false,
      maxAttempts: 1,
      ...overrides,
    };
  }

  async function claimOk(key: string, slot: number, overrides: Partial<SlotClaim> = {}): Promise<ClaimedRun> {
    const result = await harness.backend.claimSlot(slotClaim(key, slot, overrides));
    if (result.status !== 'claimed') throw new Error(`expected claimed, got ${result.status}`);
    return result.run;
  }

  function enqueue(key: string, id: string, dueAt: number, overrides: Partial<RunEnqueue> = {}): Promise<{ run: RunSummary; created: boolean }> {
    return harness.backend.enqueueRun({ key, id, kind: 'trigger', dueAt, params: undefined, maxAttempts: 1, ...overrides });
  }

  function finishOf(run: ClaimedRun, overrides: Partial<RunFinish> = {}): RunFinish {
    return {
      key: run.key,
      id: run.id,
      fencingToken: run.fencingToken,
      instanceId: 'instance-a',
      outcome: 'success',
      error: null,
      durationMs: 25,
      ...overrides,
    };
  }

  function ids(count: number): string[] {
    return Array.from({ length: count }, () => randomUUID());
  }

  async function stored(key: string): Promise<StoredJob> {
    const found = await harness.backend.getJob(key);
    if (found === null) throw new Error(`job ${key} is not stored`);
    return found;
  }

  function onHarness(use: (harness: BackendHarness) => void): void {
    users.push(use);
  }

  return { onHarness, upsert, slotClaim, claimOk, enqueue, finishOf, ids, stored };
}
