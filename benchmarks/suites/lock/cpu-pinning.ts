import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * CPU placement for the lock benchmark. On a small machine a loopback round
 * trip is bimodal: about 0.03 ms when the client and redis-server happen to
 * share a core, about 0.1 ms when they do not, and the scheduler flips
 * between the two from one second to the next. Left alone, that decides
 * which implementation "wins" a run. So redis-servers get the last core and
 * every Node process of the benchmark (this one, and the contender processes
 * it starts afterwards, which inherit it) the others: every round trip
 * crosses cores, as it crosses a network in production.
 *
 * Best effort: without `taskset` (or with one core) nothing is pinned and the
 * layout says so. `restore()` gives this process its original affinity back
 * (the benchmark runner goes on with other suites in the same process).
 */
export interface CpuLayout {
  /** e.g. `redis-server on CPU 1, Node on CPU 0` or `not pinned (...)`. */
  readonly description: string;
  readonly pinned: boolean;
  /** Pins more redis-servers like the first ones. */
  pinServer(pid: number): void;
  restore(): void;
}

function taskset(args: string[]): string {
  return execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function pinCpus(serverPids: readonly number[]): CpuLayout {
  const cores = availableParallelism();
  const unpinned = (why: string): CpuLayout => ({ description: `not pinned (${why})`, pinned: false, pinServer: () => undefined, restore: () => undefined });
  if (cores < 2) return unpinned('one CPU');
  let original: string;
  try {
    // "pid 123's current affinity mask: 3"
    original = /mask:\s*([0-9a-f]+)/i.exec(taskset(['-p', String(process.pid)]))?.[1] ?? '';
    if (original === '') return unpinned('cannot read the affinity mask');
  } catch (error) {
    return unpinned(`taskset unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const serverCpu = String(cores - 1);
  const clientCpus = cores === 2 ? '0' : `0-${cores - 2}`;
  const pinServer = (pid: number): void => void taskset(['-a', '-cp', serverCpu, String(pid)]);
  try {
    for (const pid of serverPids) pinServer(pid);
    taskset(['-a', '-cp', clientCpus, String(process.pid)]);
  } catch (error) {
    try {
      taskset(['-a', '-p', original, String(process.pid)]);
    } catch {
      // best effort
    }
    return unpinned(`taskset failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  return {
    description: `redis-server on CPU ${serverCpu}, Node processes on CPU ${clientCpus} (${cores} CPUs)`,
    pinned: true,
    pinServer,
    restore() {
      try {
        taskset(['-a', '-p', original, String(process.pid)]);
      } catch {
        // best effort
      }
    },
  };
}
