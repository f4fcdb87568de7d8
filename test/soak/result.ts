/**
 * The soak's result file (benchmarks/results/soak.json with the soak's own
 * settings, soak-defaults.json with the scheduler's defaults): the ledger's
 * figures with the commit, date, machine and command they were measured
 * with, read by benchmarks/readme-figures.ts for the README.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { RESULTS_DIR, machine, type Machine, type Provenance } from '../../benchmarks/lib/result.js';
import type { HeapSample, SoakSummary } from './soak.js';

/** Its commit, dirty flag and command (Provenance) stand at the top level, as in every result file. */
export interface SoakResult extends Provenance {
  suite: 'soak' | 'soak-defaults';
  startedAt: string;
  durationMs: number;
  machine: Machine;
  /** The instances' settings where they differ from the scheduler's defaults (empty with `--defaults`). */
  settings: Record<string, unknown>;
  /** The same in words, for the README: "lockTtlMs 3 s, overlap 'allow', misfire 'run-all'". */
  settingsText: string;
  ledger: {
    windowMs: number;
    jobs: number;
    slotsExpected: number;
    slotRuns: number;
    /** Slots of the window the overlap or misfire policy deliberately did not run (recorded as skipped / dropped). */
    skipped: number;
    skippedOverlap: number;
    skippedMisfire: number;
    triggersAcked: number;
    triggerRuns: number;
    starts: number;
    kills: number;
    restarts: number;
    stalled: number;
    rerunsAfterKill: number;
    rerunsAfterFailure: number;
    failures: number;
    duplicates: number;
    missed: number;
    lost: number;
    /** Error lines the instances logged (winston, level error) and `backend:down` events. */
    errors: number;
    outages: number;
    confirmedInRedis: number;
    heap: HeapSample[];
    drainMs: number;
    ok: boolean;
  };
  /** The first few of each, to read without re-running. */
  examples: { duplicates: string[]; missed: string[]; lost: string[]; errors: string[] };
}

/** `stamp`: the commit, dirty flag and command, taken when the soak started. */
export function soakResult(summary: SoakSummary, options: { defaults: boolean; startedAt: Date; durationMs: number; stamp: Provenance }): SoakResult {
  return {
    ...options.stamp,
    suite: options.defaults ? 'soak-defaults' : 'soak',
    startedAt: options.startedAt.toISOString(),
    durationMs: options.durationMs,
    machine: machine(),
    settings: summary.settings,
    settingsText: summary.settingsText,
    ledger: {
      windowMs: summary.windowMs,
      jobs: summary.jobs,
      slotsExpected: summary.slotsExpected,
      slotRuns: summary.slotRuns,
      skipped: summary.skipped.overlap + summary.skipped.misfire,
      skippedOverlap: summary.skipped.overlap,
      skippedMisfire: summary.skipped.misfire,
      triggersAcked: summary.triggersAcked,
      triggerRuns: summary.triggerRuns,
      starts: summary.starts,
      kills: summary.kills.length,
      restarts: summary.restarts,
      stalled: summary.stalled,
      rerunsAfterKill: summary.reruns.afterKill,
      rerunsAfterFailure: summary.reruns.afterFailure,
      failures: summary.failures,
      duplicates: summary.duplicates.length,
      missed: summary.missed.length,
      lost: summary.lost.length,
      errors: summary.errors.length,
      outages: summary.outages,
      confirmedInRedis: summary.confirmedInRedis,
      heap: summary.heap,
      drainMs: summary.drainMs,
      ok: summary.ok,
    },
    examples: {
      duplicates: summary.duplicates.slice(0, 20),
      missed: summary.missed.slice(0, 20),
      lost: summary.lost.slice(0, 20),
      errors: summary.errors.slice(0, 20),
    },
  };
}

/** Writes benchmarks/results/<suite>.json; returns the file. */
export function writeSoakResult(result: SoakResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${result.suite}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
