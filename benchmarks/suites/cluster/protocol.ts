/**
 * What the cluster-throughput suite and its instance processes say to each
 * other: the config an instance is started with (`startScript`), and the
 * JSON lines it prints (`ready` once its jobs are registered and it runs,
 * `result` after SIGTERM, once it has stopped).
 */

export type System = 'schedkit' | 'bullmq';

export interface InstanceConfig {
  system: System;
  instanceId: string;
  host: string;
  port: number;
  /** Key prefix (schedkit) or queue prefix (BullMQ) of this measurement. */
  prefix: string;
  /** Jobs registered by every instance: `job-0` ... `job-<jobs-1>`, every second. */
  jobs: number;
  /** Runs at once per instance: schedkit `maxConcurrent`, BullMQ Worker `concurrency`. */
  concurrency: number;
}

/** The runs of one slot seen by one instance: job indexes (a job twice = ran twice here) and lateness. */
export interface SlotRuns {
  slot: number;
  jobs: number[];
  /** Handler start − slot, in ms, same order as `jobs`. */
  lateMs: number[];
}

/** Cumulative counters sampled at each whole second of the wall clock (`at`). */
export interface Tick {
  at: number;
  /** CPU (user + system) of the process since it started, ms. */
  cpuMs: number;
  /** Commands this process sent to Redis so far, by command (counted in ioredis). */
  sent: Record<string, number>;
}

export interface InstanceResult {
  instanceId: string;
  pid: number;
  slots: SlotRuns[];
  ticks: Tick[];
  /** Scheduler events and log lines other than runs (failures, skips, warnings): name -> second (epoch ms) -> count. */
  events: Record<string, Record<string, number>>;
  /** ms from SIGTERM until the instance had stopped. */
  stopMs: number;
}
