/**
 * What the postgres suite and its instance processes say to each other: the
 * config an instance is started with (`startScript`), and the JSON lines it
 * prints (`loaded` once its modules are in, `ready` once its jobs are
 * registered and it runs, `result` after SIGTERM, once it has stopped).
 */
import type { SlotRuns, Tick } from '../cluster/protocol.js';

export type { SlotRuns, Tick };

export const PG_SYSTEMS = ['schedkit', 'pg-boss', 'graphile-worker'] as const;
export type PgSystem = (typeof PG_SYSTEMS)[number];

/**
 * Runs at once per instance process. schedkit's default `maxConcurrent` is
 * 10, and every system's pool holds 10 connections by default;
 * graphile-worker's `concurrency` defaults to 1, which would measure a
 * serial queue rather than its scheduling, so it gets 10 too. pg-boss 10
 * has one worker per queue, and here one queue per job: it sets no number.
 */
export const CONCURRENCY = 10;

export interface PgInstanceConfig {
  system: PgSystem;
  instanceId: string;
  /** The system's own database on the suite's server. */
  url: string;
  /** Jobs registered by every instance: `job-0` ... `job-<jobs-1>`. */
  jobs: number;
  /** `minute`: `* * * * *` (what every system can run); `second`: `* * * * * *` (schedkit only). */
  every: 'minute' | 'second';
  concurrency: number;
}

export interface PgInstanceResult {
  instanceId: string;
  pid: number;
  /** From SIGUSR2 to `ready`: connect, migrate, register the jobs, start. */
  startupMs: number;
  slots: SlotRuns[];
  /** CPU of this process at every whole second (the `sent` counts are unused here: statements are counted in the database). */
  ticks: Tick[];
  /** Errors, warnings, outages, reruns and skips: name -> second (epoch ms) -> count. */
  events: Record<string, Record<string, number>>;
  stopMs: number;
}
