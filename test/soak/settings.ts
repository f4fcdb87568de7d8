/**
 * The soak's two sets of instance settings (its own, and the scheduler's
 * defaults) and the human-readable ledger summary.
 */
import type { SchedulerConfigInput } from 'schedkit';
import type { InstanceSpec } from './instance.js';
import type { SoakSummary } from './soak.js';

/** The instances' settings in each mode, and how the result names them. */
export function soakSettings(
  defaults: boolean,
  lockTtlMs: number,
  historyLimit: number,
): { config: SchedulerConfigInput; recurring: Pick<NonNullable<InstanceSpec['recurring']>, 'misfire' | 'overlap'>; described: Record<string, unknown>; text: string } {
  if (defaults) {
    return {
      config: { historyLimit },
      recurring: {},
      described: { historyLimit },
      text: `the scheduler's defaults: overlap 'skip', misfire 'run-once', lockTtlMs ${lockTtlMs / 1000} s, maxConcurrent 10; historyLimit ${historyLimit} for the ledger`,
    };
  }
  const config = { lockTtlMs, lockRefreshMs: Math.floor(lockTtlMs / 3), shutdownTimeoutMs: 3_000, stopTimeoutMs: 10_000, maxConcurrent: 400, historyLimit };
  return {
    config,
    recurring: { misfire: 'run-all', overlap: 'allow' },
    described: { ...config, misfire: 'run-all', overlap: 'allow' },
    text: `the soak's own settings: lockTtlMs ${lockTtlMs / 1000} s, overlap 'allow', misfire 'run-all', maxConcurrent 400, shutdownTimeoutMs 3 s`,
  };
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** A human-readable summary. */
export function formatSummary(s: SoakSummary): string {
  const lines = [
    `soak: ${s.windowMs / 1000} s window, ${s.jobs} jobs every second + one-off triggers, 4 instances; ${s.settingsText}`,
    `  slot runs      ${s.slotRuns} / ${s.slotsExpected} expected; skipped by overlap ${s.skipped.overlap}, by misfire ${s.skipped.misfire}`,
    `  one-off runs   ${s.triggerRuns} / ${s.triggersAcked} acknowledged triggers`,
    `  attempts       ${s.starts} started; reruns after kill ${s.reruns.afterKill}, after failure ${s.reruns.afterFailure}; failures ${s.failures}; stalled ${s.stalled}`,
    `  confirmed      ${s.confirmedInRedis} successes and ${s.skippedInRedis} skips found in Redis history (their line died with a killed instance)`,
    `  duplicates     ${s.duplicates.length}`,
    `  missed         ${s.missed.length}`,
    `  lost           ${s.lost.length}`,
    `  errors logged  ${s.errors.length}; outages (backend:down) ${s.outages}`,
    `  kills          ${s.kills.length} (${s.kills.map((k) => `${k.instance}@+${(k.atMs / 1000).toFixed(0)}s`).join(', ')}), restarts ${s.restarts}`,
    `  drain          ${s.drainMs} ms; clean stops at the end ${s.cleanStops}`,
    `  heap (heapUsed after gc, start -> end; flat = end <= start + max(8 MB, 25 %)):`,
    ...s.heap.map((h) => `    ${h.instance.padEnd(9)} ${mb(h.startBytes)} -> ${mb(h.endBytes)} ${h.flat ? 'flat' : 'GREW'}`),
    `  result         ${s.ok ? 'PASS' : 'FAIL'}`,
  ];
  for (const [title, list] of [
    ['duplicates', s.duplicates],
    ['missed', s.missed],
    ['lost', s.lost],
    ['errors', s.errors],
  ] as const) {
    if (list.length > 0) lines.push(`  first ${title}:`, ...list.slice(0, 10).map((x) => `    ${x}`));
  }
  return lines.join('\n');
}
