/** What the scale suite and its child process say to each other. */

export interface ScaleConfig {
  /** Recurring jobs to register. */
  jobs: number;
  /** Wait after start (and gc) before the idle window, ms. */
  settleMs: number;
  /** The idle window starts no earlier than this long after the process started, ms. */
  minUptimeMs: number;
  /** The idle window: process CPU is measured over it, ms. */
  idleMs: number;
  /** Length of the slices the idle window is cut into (for the noise estimate), ms. */
  sliceMs: number;
  /** Jobs checked one by one with `getJob` (spread over the index range). */
  samples: number;
}

/** `process.memoryUsage()` after a full gc, bytes. */
export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface ScaleResult {
  jobs: number;
  /** Which schedules the jobs got, and how many of each. */
  mix: Record<string, number>;
  /** Time of every `register()` call (before start), of `start()`, ms. */
  registerMs: number;
  startMs: number;
  /** Process CPU spent registering and starting, ms. */
  registerCpuMs: number;
  startCpuMs: number;
  /** Memory before registering (scheduler built, gc), after registering (gc), after start (gc). */
  memory: { before: Memory; registered: Memory; started: Memory };
  /** CPU over the idle window (whole process, and main thread only), ms, and per slice of `sliceMs`. */
  idle: {
    processCpuMs: number;
    mainThreadCpuMs: number;
    wallMs: number;
    /** When the window began, ms after the process started. */
    startedAtUptimeMs: number;
    slices: Array<{ processCpuMs: number; mainThreadCpuMs: number }>;
  };
  /** Runs that started during the measurement (none is due: must be 0). */
  runsStarted: number;
  /** `listJobs().length` after the idle window. */
  listed: number;
  /** `getJob` samples whose name and next run time were not what was registered. */
  sampleErrors: string[];
  samples: number;
  scheduler: { state: string };
  node: { execArgv: string[]; nodeOptions: string; gcExposed: boolean };
}
