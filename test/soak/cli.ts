/**
 * `npm run soak -- --minutes N [--defaults]` (or `--seconds N`): runs the
 * soak (test/soak/soak.ts) with its own settings, or with `--defaults` with
 * the scheduler's defaults; prints the ledger summary, writes the result file
 * (benchmarks/results/soak.json, or soak-defaults.json: the figures the
 * README quotes, with commit, date, machine and command), and exits 1 when a
 * ledger check fails. `--no-write` leaves the result files alone. Ctrl-C /
 * SIGTERM kill every process it started (by pid, through the exit handlers
 * of processes.ts and redis-server.ts).
 */
import { formatSummary, runSoak } from './soak.js';
import { provenance } from '../../benchmarks/lib/result.js';
import { soakResult, writeSoakResult } from './result.js';

const USAGE = 'usage: npm run soak -- --minutes N | --seconds N  [--defaults] [--no-write]';
const args = process.argv.slice(2);
const valueOf = (flag: string): number | undefined => {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : Number(args[at + 1]);
};
const seconds = valueOf('--seconds');
const minutes = seconds !== undefined ? seconds / 60 : (valueOf('--minutes') ?? 1);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60 || (seconds !== undefined && !Number.isInteger(seconds))) {
  console.error(`${USAGE}   (got ${args.join(' ')})`);
  process.exit(2);
}
const defaults = args.includes('--defaults');
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`soak: ${signal}, stopping`);
    process.exit(130); // the 'exit' handlers kill the instances and redis-server by pid
  });
}

const startedAt = new Date();
const started = Date.now();
const stamp = provenance();
try {
  const summary = await runSoak({ minutes, defaults, log: (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`) });
  console.log(formatSummary(summary));
  if (!args.includes('--no-write')) {
    console.log(`result: ${writeSoakResult(soakResult(summary, { defaults, startedAt, durationMs: Date.now() - started, stamp }))}`);
  }
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(summary.ok ? 0 : 1);
} catch (error) {
  console.error('soak failed:', error);
  process.exit(1);
}
