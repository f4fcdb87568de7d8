import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startScript, type NodeProcess } from '../../lib/processes.js';
import { monoMs, type ContendOutcome, type ContendSpec, type Intervals } from './contend.js';
import type { ContenderProcessConfig, ControlMessage } from './contender-process.js';
import type { LockSpec } from './locks.js';

const SCRIPT = fileURLToPath(new URL('./contender-process.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const PREPARE_TIMEOUT_MS = 20_000;
/** Between `go` and the common start instant: every process has received the order by then. */
const GO_LEAD_MS = 50;

type Line = NodeProcess['lines'][number];

/**
 * Contender processes started once and reused for every multi-process run
 * (starting four tsx processes costs seconds of CPU, which must not overlap a
 * measurement). Orders go out on a pub/sub channel of the control Redis;
 * results come back as JSON lines.
 */
export class ContenderPool {
  private constructor(
    private readonly processes: NodeProcess[],
    private readonly publisher: Redis,
    private readonly channel: string,
  ) {}

  static async start(size: number, controlUrl: string): Promise<ContenderPool> {
    const channel = `bench:lock-control:${randomBytes(6).toString('hex')}`;
    const publisher = new Redis(controlUrl, { protocol: 2, connectionName: 'bench:lock-control' });
    publisher.on('error', () => undefined);
    const processes: NodeProcess[] = [];
    const pool = new ContenderPool(processes, publisher, channel);
    try {
      await publisher.ping();
      for (let index = 0; index < size; index++) {
        const config: ContenderProcessConfig = { controlUrl, channel, index };
        processes.push(startScript(`lock contender ${index}`, SCRIPT, config));
      }
      await Promise.all(processes.map((p) => p.waitForLine('listening', {}, START_TIMEOUT_MS)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.processes.length;
  }

  /** Runs `contend` (contenders per process) with `lock` in every process at once; one outcome per process. */
  async run(run: string, lock: LockSpec, contend: ContendSpec): Promise<ContendOutcome[]> {
    try {
      await this.order({ type: 'prepare', run, lock, contend });
      await this.all('prepared', run, PREPARE_TIMEOUT_MS);
      await this.order({ type: 'go', run, startAt: monoMs() + GO_LEAD_MS });
      const done = await this.all('done', run, GO_LEAD_MS + contend.warmupMs + contend.windowMs + contend.drainMs + 30_000);
      return this.processes.map((p, i) => collect(p, run, done[i]!));
    } finally {
      for (const p of this.processes) {
        // Keep only what later runs may still need.
        const kept = p.lines.filter((l) => l.run !== run);
        p.lines.splice(0, p.lines.length, ...kept);
      }
    }
  }

  /** Asks every process to exit, then kills (by pid) any that did not. */
  async close(): Promise<void> {
    if (this.publisher.status === 'ready') await this.order({ type: 'exit' }).catch(() => undefined);
    await Promise.all(
      this.processes.map(async (p) => {
        await p.waitForExit(3_000).catch(() => undefined);
        await p.kill();
      }),
    );
    this.publisher.disconnect();
  }

  private async order(message: ControlMessage): Promise<void> {
    const receivers = await this.publisher.publish(this.channel, JSON.stringify(message));
    if (message.type !== 'exit' && receivers < this.processes.length) {
      throw new Error(`lock contender pool: ${receivers} of ${this.processes.length} processes listen on the control channel`);
    }
  }

  /** Waits for a `message` line of `run` from every process; a `failed` line rejects at once. */
  private async all(message: string, run: string, timeoutMs: number): Promise<Line[]> {
    return Promise.all(
      this.processes.map(async (p) => {
        await p.waitUntil(`"${message}" for run ${run}`, timeoutMs, () => p.lines.some((l) => l.run === run && (l.message === message || l.message === 'failed')));
        const failed = p.find('failed', { run })[0];
        if (failed !== undefined) throw p.failure(`run ${run} failed: ${String(failed.error)}`);
        return p.find(message, { run })[0]!;
      }),
    );
  }
}

function collect(p: NodeProcess, run: string, done: Line): ContendOutcome {
  const waits: number[] = [];
  for (const line of p.find('waits', { run })) for (const v of line.values as number[]) waits.push(v);
  const intervals: Intervals = { key: [], enter: [], leave: [], token: [], flag: [] };
  for (const line of p.find('intervals', { run })) {
    for (const field of ['key', 'enter', 'leave', 'token', 'flag'] as const) {
      for (const v of line[field] as number[]) intervals[field].push(v);
    }
  }
  return {
    counts: done.counts as number[],
    waits,
    pendingWaits: done.pendingWaits as number[],
    intervals,
    counterViolations: done.counterViolations as number,
    acquireErrors: done.acquireErrors as number,
    gaveUp: done.gaveUp as number,
    releaseErrors: done.releaseErrors as number,
    firstError: (done.firstError as string | null) ?? undefined,
    stuck: done.stuck as number,
    cpuMs: done.cpuMs as number,
  };
}
