/**
 * Runs the benchmark suites one after the other (never two at once: they
 * would measure each other), writes each suite's JSON to
 * benchmarks/results/, prints its Markdown, then renders the report.
 *
 *   npm run bench                  # every suite, full (tens of minutes)
 *   npm run bench:quick            # every suite, bounded (< 2 min): the CI smoke test
 *   npm run bench -- --suite lock  # some suites: lock, fire, cluster, scale, postgres (comma-separated)
 *
 * Exit code 1 when a suite crashes or one of its correctness checks fails;
 * timings never fail the run (targets are reported as met or not). A full
 * run then rewrites the README's figure blocks from the stored results
 * (benchmarks/readme-figures.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machine, markdownSuite, measuredBuild, provenance, writeResult, type SuiteResult } from './lib/result.js';
import { README, loadStoredResults, renderReadme } from './readme-figures.js';
import { renderReport } from './report.js';

type Suite = (options: { quick: boolean }) => Promise<SuiteResult>;

const SUITES: Record<string, () => Promise<Suite>> = {
  lock: async () => (await import('./suites/lock-contention.js')).run,
  fire: async () => (await import('./suites/fire-accuracy.js')).run,
  cluster: async () => (await import('./suites/cluster-throughput.js')).run,
  scale: async () => (await import('./suites/scale.js')).run,
  postgres: async () => (await import('./suites/postgres.js')).run,
};

// The instance and contender processes inherit it: absolute, so it holds whatever their working directory.
if (process.env.TSX_TSCONFIG_PATH !== undefined) process.env.TSX_TSCONFIG_PATH = resolve(process.env.TSX_TSCONFIG_PATH);

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const suiteArg = args.find((a) => a.startsWith('--suite='))?.slice('--suite='.length) ?? (args.includes('--suite') ? args[args.indexOf('--suite') + 1] : undefined);
const selected = suiteArg === undefined ? Object.keys(SUITES) : suiteArg.split(',').map((s) => s.trim());
for (const name of selected) {
  if (!(name in SUITES)) {
    console.error(`unknown suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}

console.log(`# schedkit benchmarks${quick ? ' (quick)' : ''}\n`);
console.log(`machine: ${JSON.stringify(machine())}; schedkit: ${measuredBuild() === 'dist' ? 'as built (dist/)' : 'from its TypeScript sources (tsx)'}\n`);
const started = Date.now();
// Which code is measured: read before the suites run, not when each one ends.
const stamp = provenance();
let failed = false;
for (const name of selected) {
  const t0 = Date.now();
  try {
    const run = await SUITES[name]!();
    const result = await run({ quick });
    const file = writeResult(result, stamp);
    console.log(markdownSuite(result));
    const bad = result.checks.filter((c) => !c.ok);
    if (bad.length > 0) {
      failed = true;
      console.error(`suite ${name}: ${bad.length} correctness check(s) FAILED: ${bad.map((c) => c.name).join(', ')}`);
    }
    const missed = result.targets.filter((t) => !t.met);
    console.log(`suite ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${result.targets.length - missed.length}/${result.targets.length} targets met -> ${file}\n`);
  } catch (error) {
    failed = true;
    console.error(`suite ${name} crashed:`, error);
  }
}
try {
  const written = renderReport({ quick });
  console.log(`report: ${written.join(', ')}`);
  // Full runs only: the README quotes full results, never quick ones.
  if (!quick) {
    const readme = readFileSync(README, 'utf8');
    const rendered = renderReadme(readme, loadStoredResults());
    if (rendered !== readme) writeFileSync(README, rendered);
    console.log(`README figures ${rendered === readme ? 'already current' : 'rewritten'} from benchmarks/results/*.json`);
  }
} catch (error) {
  failed = true;
  console.error('report failed:', error);
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
