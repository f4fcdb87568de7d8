import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, loadStoredResults, performanceBlock, renderReadme, soakBlock, type StoredResults } from '../../benchmarks/readme-figures.js';

// The README's measured figures ("Performance", the soak row of
// "Guarantees") are generated from benchmarks/results/*.json by
// benchmarks/readme-figures.ts; this keeps the text and the files in step.
const readme = readFileSync(README, 'utf8');
const stored = loadStoredResults();

/** The text between a block's markers. */
function block(text: string, name: string): string {
  const open = `<!-- figures:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(`<!-- /figures:${name} -->`);
  expect(start, `README.md has no ${open}`).toBeGreaterThanOrEqual(0);
  expect(end, `README.md has no closing marker for ${name}`).toBeGreaterThan(start);
  return text.slice(start + open.length, end);
}

describe('README figures', () => {
  it.each(['performance', 'soak'])('the %s block is what the stored result files render (else run `npx tsx benchmarks/readme-figures.ts`)', (name) => {
    expect(block(readme, name)).toBe(block(renderReadme(readme, stored), name));
  });

  it('renders nothing outside the blocks', () => {
    const outside = (text: string): string => text.replace(/<!-- figures:(\w+) -->[\s\S]*?<!-- \/figures:\1 -->/g, '<!-- figures -->');
    expect(outside(renderReadme(readme, stored))).toBe(outside(readme));
  });

  it('follows a changed figure: a result file that says otherwise changes the README', () => {
    const fire = structuredClone(stored.fire);
    expect(fire, 'benchmarks/results/fire-accuracy.json').toBeDefined();
    const rows = fire!.data.lateness as Array<{ contender: string; jobs: number; p99Ms: number }>;
    rows.find((r) => r.contender === 'schedkit-redis' && r.jobs === 1_000)!.p99Ms = 777;
    const changed: StoredResults = { ...stored, fire: fire! };
    expect(performanceBlock(changed)).toContain('| lateness p99 on Redis, one instance | 777 ms |');
    expect(block(renderReadme(readme, changed), 'performance')).not.toBe(block(readme, 'performance'));
  });

  it('names the commit a result was measured on, and "commit unknown" for results that did not record it', () => {
    const withCommit = structuredClone(stored.fire)!;
    Object.assign(withCommit, { commit: '0123456789abcdef0123456789abcdef01234567', dirty: true, command: 'npm run bench (tsx benchmarks/run.ts)' });
    expect(performanceBlock({ ...stored, fire: withCommit })).toContain('commit 0123456 with uncommitted changes at');
    const without = structuredClone(stored.fire)!;
    delete without.commit;
    delete without.dirty;
    delete without.command;
    expect(performanceBlock({ ...stored, fire: without })).toContain('commit unknown at');
  });

  it('says the soak was not measured rather than quoting figures without a result file', () => {
    expect(soakBlock({})).toBe("with the soak's own settings: not measured yet (no result file); with the scheduler's defaults: not measured yet (no result file)");
  });

  it('names the settings that differ from the defaults beside the figures they shape', () => {
    const text = performanceBlock(stored);
    expect(text).toContain('`maxConcurrent: 20000`; default 10');
    expect(text).toContain('`maxConcurrent: 100`, default 10');
  });
});
