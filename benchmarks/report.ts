/**
 * Renders benchmarks/results/*.json into one Markdown summary and two SVG
 * charts (lateness per library; lock throughput vs contenders). Run by
 * `npm run bench` after the suites; `npx tsx benchmarks/report.ts` renders
 * again from the stored results.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ThroughputPoint } from './suites/lock-contention.js';
import { RESULTS_DIR, markdownSuite, markdownTable, provenanceLine, type SuiteResult } from './lib/result.js';
import type { SoakResult } from '../test/soak/result.js';
import { groupedBarsLog, lines } from './lib/svg.js';

const ORDER = ['lock-contention', 'fire-accuracy', 'cluster-throughput', 'scale', 'postgres'];

interface LatenessRow {
  contender: string;
  jobs: number;
  p50Ms: number;
  p90Ms?: number;
  p99Ms: number;
  maxMs: number;
}

function load(suite: string, quick: boolean): SuiteResult | undefined {
  const file = `${RESULTS_DIR}${suite}${quick ? '.quick' : ''}.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SuiteResult) : undefined;
}

/** The soak's result files (`npm run soak`, with and without `--defaults`), when there are any. */
function soakSections(): string[] {
  const found = ['soak', 'soak-defaults']
    .map((name) => `${RESULTS_DIR}${name}.json`)
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as SoakResult);
  return found.map((s) => {
    const l = s.ledger;
    return [
      `### ${s.suite}`,
      '',
      provenanceLine(s),
      '',
      markdownTable({
        title: `Soak: ${l.windowMs / 1000} s window, ${l.jobs} jobs every second plus one-off triggers, 4 instances, kill -9 and restart (${s.settingsText})`,
        columns: ['slot runs', 'skipped (overlap / misfire)', 'one-off runs', 'kills', 'stalled, rerun', 'duplicates', 'missed', 'lost', 'errors, outages logged', 'heap (surviving instance)', 'ledger'],
        rows: [
          [
            `${l.slotRuns} / ${l.slotsExpected}`,
            `${l.skippedOverlap} / ${l.skippedMisfire}`,
            `${l.triggerRuns} / ${l.triggersAcked}`,
            l.kills,
            `${l.stalled}, ${l.rerunsAfterKill}`,
            l.duplicates,
            l.missed,
            l.lost,
            `${l.errors}, ${l.outages}`,
            l.heap.map((h) => `${h.instance} ${(h.startBytes / 2 ** 20).toFixed(1)} → ${(h.endBytes / 2 ** 20).toFixed(1)} MB`).join('; '),
            l.ok ? 'pass' : '**FAIL**',
          ],
        ],
      }),
      '',
    ].join('\n');
  });
}

/** Writes summary(.quick).md and the charts from the stored results; returns the files written. */
export function renderReport(options: { quick: boolean }): string[] {
  const suffix = options.quick ? '.quick' : '';
  const results = ORDER.map((s) => load(s, options.quick)).filter((r): r is SuiteResult => r !== undefined);
  const written: string[] = [];

  const targets = results.flatMap((r) => r.targets.map((t) => ({ suite: r.suite, ...t })));
  const first = results[0];
  const summary = [
    `# Benchmark results${options.quick ? ' (quick run)' : ''}`,
    '',
    first === undefined ? 'No results yet.' : `Machine: ${first.machine.cpu}, ${first.machine.cores} cores, ${first.machine.memoryGiB} GiB, Node ${first.machine.node}, ${first.machine.redis}.`,
    '',
    '## Targets',
    '',
    '| suite | target | asked | measured | met |',
    '|---|---|---|---|---|',
    ...targets.map((t) => `| ${t.suite} | ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`),
    '',
    ...results.map((r) => `${markdownSuite(r)}\n_Took ${(r.durationMs / 1000).toFixed(0)} s._\n`),
    ...(options.quick ? [] : soakSections()),
  ].join('\n');
  const summaryFile = `${RESULTS_DIR}summary${suffix}.md`;
  writeFileSync(summaryFile, `${summary}\n`);
  written.push(summaryFile);

  const fire = results.find((r) => r.suite === 'fire-accuracy');
  const lateness = (fire?.data.lateness as LatenessRow[] | undefined)?.filter((row) => row.jobs === 1_000) ?? [];
  if (lateness.length > 0) {
    const file = `${RESULTS_DIR}lateness${suffix}.svg`;
    writeFileSync(
      file,
      groupedBarsLog({
        title: 'Fire lateness, 1,000 jobs every second (start − slot)',
        unit: 'milliseconds',
        series: ['p50', 'p90', 'p99', 'max'],
        groups: lateness.map((row) => ({ label: row.contender, values: [row.p50Ms, row.p90Ms ?? NaN, row.p99Ms, row.maxMs] })),
      }),
    );
    written.push(file);
  }

  const lock = results.find((r) => r.suite === 'lock-contention');
  const throughput = ((lock?.data.throughput as ThroughputPoint[] | undefined) ?? []).filter(
    (row) => row.processes === 1 && row.keys === 1 && row.holdMs === 0 && row.masters === 1,
  );
  if (throughput.length > 0) {
    const contenders = [...new Set(throughput.map((r) => r.contenders))].sort((a, b) => a - b);
    const impls = [...new Set(throughput.map((r) => r.impl))];
    const file = `${RESULTS_DIR}lock-throughput${suffix}.svg`;
    writeFileSync(
      file,
      lines({
        title: 'Lock throughput on one key vs contenders (one process, one master, hold 0 ms)',
        xLabel: 'contenders',
        yLabel: 'acquisitions per second',
        categories: contenders.map(String),
        lines: impls.map((impl) => ({
          label: impl,
          values: contenders.map((c) => throughput.find((r) => r.impl === impl && r.contenders === c)?.acquisitionsPerSec ?? NaN),
        })),
      }),
    );
    written.push(file);
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.log(renderReport({ quick }).join('\n'));
}
