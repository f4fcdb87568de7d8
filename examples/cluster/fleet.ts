/**
 * Runs three instances of an example's `main.ts` side by side for 12 seconds
 * once all three run, prints who ran each slot, stops them with SIGTERM and
 * checks that no slot ran twice. Shared by the Redis and PostgreSQL demos,
 * which differ only in the server they start and the variable that names it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const RUN_FOR_MS = 12_000;
const IDS = ['a', 'b', 'c'];

/** Runs the fleet; resolves to the exit code the demo should end with (0: every slot once, every instance exited 0). */
export async function runFleet(main: URL, env: Record<string, string>, stopServer: () => unknown): Promise<number> {
  const runs: Array<{ job: string; slot: string; by: string }> = [];
  const started: Array<Promise<void>> = [];
  const instances = IDS.map((id) => startInstance(main, { ...env, SCHEDKIT_INSTANCE_ID: id }, runs, started));
  // Interrupted: take the instances and the server down with us.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of instances) child.kill('SIGKILL');
      void stopServer();
      process.exit(130);
    });
  }
  console.log(`instances ${IDS.join(', ')} starting...`);
  // The clock starts once all three run (a loaded machine takes seconds to start three Node processes).
  await Promise.race([Promise.all(started), sleep(30_000)]);
  console.log(`instances ${IDS.join(', ')} running for ${RUN_FOR_MS / 1000} s...`);
  await sleep(RUN_FOR_MS);

  for (const child of instances) child.kill('SIGTERM');
  const codes = await Promise.all(instances.map(async (child) => (child.exitCode ?? (await once(child, 'exit'))[0]) as number));
  await stopServer();

  const perInstance = Object.fromEntries(IDS.map((id) => [id, runs.filter((r) => r.by === id).length]));
  const keys = runs.map((r) => `${r.job}@${r.slot}`);
  const duplicates = keys.length - new Set(keys).size;
  console.log(`\n${runs.length} runs; per instance ${JSON.stringify(perInstance)}; slots run twice: ${duplicates}; exit codes ${codes.join(', ')}`);
  return duplicates === 0 && codes.every((c) => c === 0) ? 0 : 1;
}

function startInstance(main: URL, env: Record<string, string>, runs: Array<{ job: string; slot: string; by: string }>, started: Array<Promise<void>>): ChildProcess {
  const id = env.SCHEDKIT_INSTANCE_ID!;
  const child = spawn(process.execPath, ['--import', 'tsx', main.pathname], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
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
