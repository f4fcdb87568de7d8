// schedkit used from another project: packed with `npm pack` (its prepare
// script builds dist/), installed into a project outside the repo, compiled
// there in strict mode by that project's own tsc, run with node.
// Slow by nature (a build, an install and two compiles: about a minute).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { installProject, packRepo, run, writeProject } from './consumer-project.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'schedkit-consumer-'));
const project = join(root, 'app');
const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');

beforeAll(async () => {
  mkdirSync(join(root, 'pack'));
  mkdirSync(project);
  const tarball = await packRepo(join(root, 'pack'));
  writeProject(project, 'pack', tarball);
  const install = await installProject(project);
  if (install.warning) console.warn(install.warning);
}, 240_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

// Concurrent: the two compiles are the slow part and each uses one core.
describe.concurrent('schedkit installed from its packed tarball', () => {
  it('ships dist/ built from the current sources only (prepare empties dist/ first)', ({ expect }) => {
    const dist = join(project, 'node_modules', 'schedkit', 'dist');
    const compiled = filesUnder(dist).filter((file) => file.endsWith('.js'));
    expect(compiled).toContain('index.js');
    const orphans = compiled.filter((file) => !existsSync(join(repo, file.replace(/\.js$/, '.ts'))));
    expect(orphans).toEqual([]);
  });

  it('installs the schedkit executable (package.json bin): --help exits 0, an unknown command 2', async ({ expect }) => {
    const bin = join(project, 'node_modules', '.bin', 'schedkit');
    const help = await run(bin, ['--help'], project, 30_000);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: schedkit <command>/);
    expect(help.stdout).toMatch(/jobs list/);
    const unknown = await run(bin, ['jobz'], project, 30_000);
    expect(unknown.code).toBe(2);
  }, 60_000);

  it('a strict app with its own logger and metrics compiles with zero errors and runs its jobs', async ({ expect }) => {
    const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project, 120_000);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);

    const app = await run(process.execPath, ['out/main.js'], project, 30_000);
    expect(app.stderr).toBe('');
    expect(app.code).toBe(0);
    const line = app.stdout.trim().split('\n').at(-1) ?? '';
    expect(line).toMatch(/^consumer result: /);
    const seen = JSON.parse(line.slice('consumer result: '.length)) as {
      runs: string[];
      logLines: number;
      loggerChildren: number;
      metrics: Record<string, number>;
    };
    // The @Scheduled interval job, the registrar's triggered job (with its params), the hand-built scheduler's job.
    expect(seen.runs).toEqual(expect.arrayContaining(['report', 'greet {"who":"consumer"}', 'by-hand']));
    expect(seen.logLines).toBeGreaterThan(0);
    expect(seen.loggerChildren).toBeGreaterThan(0);
    expect(seen.metrics.runStarted).toBeGreaterThanOrEqual(3);
    expect(seen.metrics.runCompleted).toBeGreaterThanOrEqual(3);
  }, 180_000);

  it('@Scheduled without experimentalDecorators is a compile error: TS1241 (TS 5.9 checks it as a standard decorator)', async ({ expect }) => {
    const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.standard.json'], project, 120_000);
    expect(compiled.code).not.toBe(0);
    expect(compiled.stdout).toContain('error TS1241: Unable to resolve signature of method decorator when called as an expression.');
    expect(compiled.stdout).toContain('The runtime will invoke the decorator with 2 arguments, but the decorator expects 3.');
    // That is the only error: the rest of the app compiles either way.
    expect(compiled.stdout.match(/error TS\d+/g)).toEqual(['error TS1241']);
  }, 180_000);
});
