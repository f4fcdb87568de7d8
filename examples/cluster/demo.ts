/**
 * Three instances of examples/cluster/main.ts on one private Redis, for
 * 12 seconds once all three run: `npx tsx examples/cluster/demo.ts` (needs `redis-server`
 * on PATH). Prints who ran each slot, then stops everything and checks that
 * no slot ran twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const RUN_FOR_MS = 12_000;

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
redis.once('error', () => {
  console.error('redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server) and run again.');
  process.exit(1);
});
await sleep(300);

const runs: Array<{ job: string; slot: string; by: string }> = [];
const started: Array<Promise<void>> = [];
const instances = ['a', 'b', 'c'].map((id) => startInstance(id));
// Interrupted: take the instances and Redis down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of [...instances, redis]) child.kill('SIGKILL');
    process.exit(130);
  });
}
console.log(`Redis on 127.0.0.1:${port}; instances a, b, c starting...`);
// The clock starts once all three run (a loaded machine takes seconds to start three Node processes).
await Promise.race([Promise.all(started), sleep(30_000)]);
console.log(`instances a, b, c running for ${RUN_FOR_MS / 1000} s...`);
await sleep(RUN_FOR_MS);

for (const child of instances) child.kill('SIGTERM');
const codes = await Promise.all(instances.map(async (child) => (child.exitCode ?? (await once(child, 'exit'))[0]) as number));
redis.kill('SIGTERM');

const perInstance = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, runs.filter((r) => r.by === id).length]));
const keys = runs.map((r) => `${r.job}@${r.slot}`);
const duplicates = keys.length - new Set(keys).size;
console.log(`\n${runs.length} runs; per instance ${JSON.stringify(perInstance)}; slots run twice: ${duplicates}; exit codes ${codes.join(', ')}`);
process.exit(duplicates === 0 && codes.every((c) => c === 0) ? 0 : 1);

function startInstance(id: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./main.ts', import.meta.url).pathname], {
    env: { ...process.env, SCHEDKIT_REDIS_URL: `redis://127.0.0.1:${port}`, SCHEDKIT_INSTANCE_ID: id },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let markStarted!: () => void;
  started.push(new Promise<void>((resolve) => (markStarted = resolve)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      const line = JSON.parse(text) as { message?: string; job?: string; slot?: string };
      if (line.message === 'lifecycle started') markStarted();
      if (line.message !== 'digest sent' && line.message !== 'index rebuilt') return;
      runs.push({ job: line.job!, slot: line.slot!, by: id });
      console.log(`${line.slot!.slice(11, 19)}  ${line.job!.padEnd(14)} ran on ${id}`);
    } catch {
      // not a JSON line
    }
  });
  return child;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}
