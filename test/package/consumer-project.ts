// A project outside the repo that depends on schedkit the way an application
// does: through the tarball `npm pack` makes, installed by npm, compiled by
// the project's own tsc and run by node.
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixture/main.ts', import.meta.url));

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}
interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: Record<string, string>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const repoManifest = readJson<Manifest>(join(repo, 'package.json'));
const repoLock = readJson<{ packages: Record<string, LockEntry> }>(join(repo, 'package-lock.json')).packages;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`); never rejects: the caller judges the exit code. */
export function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: childEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr: error && code === -1 ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/**
 * The environment of the commands run here. Under `npm test` npm exports
 * the repo's package fields and paths (`npm_package_*`, `npm_config_local_prefix`,
 * `npm_config_prefix`, ...), which would make the nested npm act on the repo
 * or the global prefix: those are dropped. The rest (cache, registry, proxy,
 * CA settings) is kept, so the nested npm uses the same npm setup.
 */
function childEnv(): NodeJS.ProcessEnv {
  const dropped = new Set([
    'npm_command',
    'npm_execpath',
    'npm_node_execpath',
    'npm_config_local_prefix',
    'npm_config_prefix',
    'npm_config_global_prefix',
    'init_cwd',
  ]);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const key = name.toLowerCase();
    if (!dropped.has(key) && !key.startsWith('npm_package_') && !key.startsWith('npm_lifecycle_')) env[name] = value;
  }
  env.npm_config_update_notifier = 'false';
  return env;
}

function check(result: CommandResult, what: string): CommandResult {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `npm pack` of the repo into `dir` (which runs the `prepare` script: a fresh build of dist/); returns the tarball's file name. */
export async function packRepo(dir: string): Promise<string> {
  check(await run('npm', ['pack', '--pack-destination', dir], repo, 180_000), 'npm pack');
  const tarballs = readdirSync(dir).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs in ${dir}`);
  return tarballs[0]!;
}

/** The version of `name` the repo's lockfile installs, so the project asks for what the npm cache holds. */
function lockedVersion(name: string): string {
  const version = repoLock[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in the repo's package-lock.json`);
  return version;
}

/**
 * Writes the project into `dir` (a sibling of the pack directory `packDir`):
 * package.json, the fixture app, a strict tsconfig.json (experimentalDecorators
 * on, for `@Scheduled`) and tsconfig.standard.json (the same without it).
 */
export function writeProject(dir: string, packDir: string, tarball: string): void {
  const spec = `file:../${packDir}/${tarball}`;
  const manifest = {
    name: 'schedkit-consumer',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: {
      schedkit: spec,
      inversify: lockedVersion('inversify'),
      'reflect-metadata': lockedVersion('reflect-metadata'),
    },
    devDependencies: {
      typescript: lockedVersion('typescript'),
      '@types/node': lockedVersion('@types/node'),
    },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(seededLock(manifest, spec), null, 2)}\n`);
  copyFileSync(fixture, join(dir, 'main.ts'));

  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    experimentalDecorators: true,
    // Checks schedkit's published .d.ts files too.
    skipLibCheck: false,
    rootDir: '.',
    outDir: 'out',
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }, null, 2));
  writeFileSync(
    join(dir, 'tsconfig.standard.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { experimentalDecorators: false, skipLibCheck: true, noEmit: true } }, null, 2),
  );
}

/**
 * A lockfile holding the repo's own locked entries for everything the project
 * needs. npm ci of the repo leaves only tarballs in the npm cache, not the
 * registry's package documents that `npm install` needs to resolve a version
 * range: with these entries `npm install --offline` resolves nothing and
 * installs from the cache. npm still checks every (peer) dependency against
 * the entries, as it does for an application's own lockfile.
 */
function seededLock(manifest: { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> }, spec: string): unknown {
  const packages: Record<string, LockEntry> = {};
  const add = (from: string, name: string): void => {
    const key = locate(from, name);
    if (packages[key]) return;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock[key]!;
    packages[key] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) add(key, dep);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) if (!entry.peerDependenciesMeta?.[dep]?.optional) add(key, dep);
  };
  for (const name of Object.keys({ ...repoManifest.dependencies, ...manifest.dependencies, ...manifest.devDependencies })) {
    if (name !== 'schedkit') add('', name);
  }
  packages['node_modules/schedkit'] = {
    version: repoManifest.version,
    resolved: spec,
    license: repoManifest.license,
    engines: repoManifest.engines,
    // npm links a package's executables from its lockfile entry.
    bin: repoManifest.bin,
    dependencies: repoManifest.dependencies,
    peerDependencies: repoManifest.peerDependencies,
    peerDependenciesMeta: repoManifest.peerDependenciesMeta,
  };
  return {
    name: manifest.name,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: manifest.name, dependencies: manifest.dependencies, devDependencies: manifest.devDependencies }, ...packages },
  };
}

/** Where node would find `name` required from the lockfile entry `from` (its own node_modules first, then each parent's). */
function locate(from: string, name: string): string {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (repoLock[key]) return key;
    if (!base) throw new Error(`${name} (needed by ${from || 'the project'}) is not in the repo's package-lock.json`);
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/**
 * `npm install` in the project, offline from the npm cache the repo's install
 * filled. When that fails (a cache without those tarballs), it installs again
 * from the registry, without the seeded lockfile, and says so in `warning`.
 */
export async function installProject(dir: string): Promise<{ offline: boolean; warning?: string }> {
  const flags = ['--no-audit', '--no-fund'];
  const offline = await run('npm', ['install', '--offline', ...flags], dir, 120_000);
  if (offline.code === 0) return { offline: true };
  rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
  rmSync(join(dir, 'package-lock.json'), { force: true });
  check(await run('npm', ['install', '--prefer-offline', ...flags], dir, 180_000), 'npm install (online, after the offline install failed)');
  return { offline: false, warning: `offline install failed, installed from the registry:\n${offline.stderr}` };
}
