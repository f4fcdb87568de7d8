import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReports, ENTRY_POINTS } from '../../scripts/api-report.js';

// The public surface is deliberate: a change to an exported name or
// signature must come with its regenerated report (`npm run api:report`), so
// it shows up as a diff in review instead of slipping in.
describe('public API report', () => {
  // Emitting the declarations takes tsc a few tens of seconds.
  let reports: ReturnType<typeof buildReports> = [];
  beforeAll(() => {
    reports = buildReports();
  }, 180_000);

  it.each(ENTRY_POINTS.map((e) => [e.subpath, e.report] as const))('%s matches api/ (run npm run api:report and review the diff)', (subpath, file) => {
    const report = reports.find((r) => r.subpath === subpath)!;
    const checkedIn = readFileSync(new URL(`../../api/${file}`, import.meta.url), 'utf8');
    expect(report.text).toBe(checkedIn);
  });

  it('every public export has a doc comment', () => {
    expect(reports.flatMap((r) => r.undocumented.map((name) => `${r.subpath}: ${name}`))).toEqual([]);
  });

  it('keeps backend-only names out of the application entry point', () => {
    const app = reports.find((r) => r.subpath === 'schedkit')!.names;
    for (const internal of ['KeyTable', 'jobStatus', 'usingLock', 'retryDelayMs', 'OffsetClock', 'exploreScheduled', 'scheduledClasses', 'SlotClaim', 'StoredJob']) {
      expect(app).not.toContain(internal);
    }
  });
});
