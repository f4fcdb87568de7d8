import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { InstanceSpec } from './instance.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'test/soak/instance.ts';

/** A line printed by an instance (`m` is its kind). */
export interface Line {
  m: string;
  i: string;
  at: number;
  [field: string]: unknown;
}

/** Every instance process started in this process, killed by pid when it exits. */
const live = new Set<Instance>();
process.once('exit', () => {
  for (const instance of live) instance.killNow();
});

/**
 * One `test/soak/instance.ts` process (`node --expose-gc --import tsx`),
 * stopped by pid. Lines go to `onLine` as they arrive; waits are bounded.
 */
export class Instance {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: Line[] = [];
  ready = false;
  private stderrTail = '';
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly spec: InstanceSpec,
    private readonly onLine: (line: Line) => void = () => undefined,
    private readonly keepLines = false,
  ) {
    this.child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SCRIPT], {
      cwd: REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: '0', SOAK_INSTANCE: JSON.stringify(spec) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    // Writes to a killed instance's stdin fail with EPIPE: expected, not an error.
    this.child.stdin!.on('error', () => undefined);
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-8_000);
    });
    const reader = createInterface({ input: this.child.stdout!, crlfDelay: Infinity });
    reader.on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        this.stderrTail = (this.stderrTail + `[stdout] ${text}\n`).slice(-8_000);
        return;
      }
      if (line.m === 'ready') this.ready = true;
      if (this.keepLines) this.lines.push(line);
      this.onLine(line);
      for (const waiter of [...this.waiters]) waiter();
    });
    const readerClosed = new Promise<void>((resolve) => reader.once('close', resolve));
    const processExited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      this.child.once('error', () => resolve({ code: null, signal: null }));
    });
    this.exited = Promise.all([processExited, readerClosed]).then(([exit]) => {
      live.delete(this);
      for (const waiter of [...this.waiters]) waiter();
      return exit;
    });
  }

  get id(): string {
    return this.spec.instanceId;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  send(command: Record<string, unknown>): void {
    if (this.alive && this.child.stdin!.writable) this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Resolves once `condition` holds (checked at each line), rejects at the deadline or when the process exits first. */
  waitFor(what: string, timeoutMs: number, condition: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        if (condition()) finish();
        else if (!this.alive) finish(new Error(`${this.id}: exited while waiting for ${what}\n${this.stderrTail}`));
      };
      const timer = setTimeout(() => finish(new Error(`${this.id}: no ${what} within ${timeoutMs} ms\n${this.stderrTail}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** SIGKILL by pid, at once. */
  killNow(): void {
    if (!this.alive) return;
    try {
      process.kill(this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** SIGKILL and wait for the exit (at most 5 s). */
  async kill(): Promise<void> {
    this.killNow();
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }

  /** SIGTERM (graceful stop), then SIGKILL if it has not exited within `timeoutMs`. Returns whether it exited by itself with code 0. */
  async stop(timeoutMs = 20_000): Promise<boolean> {
    if (!this.alive) return false;
    process.kill(this.child.pid!, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      this.exited.then((e) => e.code === 0),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (this.alive) await this.kill();
    return graceful;
  }
}
