import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: scripts resolve `schedkit` through its tsconfig `paths`. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One JSON line written by the process (a winston log line when stdout is a pipe, or a record of a test worker). */
export interface LogLine {
  level: string;
  message: string;
  timestamp: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Waiter {
  check: () => boolean;
  fail: (why: string) => void;
}

/**
 * A TypeScript script running as a real child process (`node --import tsx
 * <script>`), stopped by pid. JSON lines on stdout are parsed as they arrive;
 * every wait has a deadline.
 */
export class NodeProcess {
  readonly lines: LogLine[] = [];
  /** stdout lines that are not JSON (there should be none). */
  readonly otherLines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly label: string,
    script: string,
    env: Record<string, string> = {},
    args: string[] = [],
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    const reader = createInterface({ input: this.child.stdout!, crlfDelay: Infinity });
    reader.on('line', (text) => {
      const line = parse(text);
      if (line === null) this.otherLines.push(text);
      else this.lines.push(line);
      this.checkWaiters();
    });
    // Resolved once the process has exited and every stdout line has been read.
    const readerClosed = new Promise<void>((resolve) => reader.once('close', resolve));
    const processExited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      this.child.once('error', (error) => {
        this.stderr += `spawn failed: ${error.message}\n`;
        resolve({ code: null, signal: null });
      });
    });
    this.exited = Promise.all([processExited, readerClosed]).then(([exit]) => {
      this.exit = exit;
      for (const waiter of [...this.waiters]) {
        if (!waiter.check()) waiter.fail(`the process exited (code ${exit.code}, signal ${exit.signal}) first`);
      }
      return exit;
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.label}: the process did not start\n${this.stderr}`);
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Lines with this message (and, optionally, these field values). */
  find(message: string, fields: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter((l) => l.message === message && Object.entries(fields).every(([k, v]) => l[k] === v));
  }

  /** Resolves with the first line, seen or to come, with this message and fields; rejects at the deadline or exit. */
  async waitForLine(message: string, fields: Record<string, unknown>, timeoutMs: number): Promise<LogLine> {
    let found: LogLine | undefined;
    await this.waitUntil(`a line "${message}" ${JSON.stringify(fields)}`, timeoutMs, () => {
      found = this.find(message, fields)[0];
      return found !== undefined;
    });
    return found!;
  }

  /** Resolves once `condition` holds for the lines read so far; rejects at the deadline or when the process exits first. */
  waitUntil(what: string, timeoutMs: number, condition: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (condition()) return resolve();
      if (this.exit !== undefined) return reject(this.failure(`waiting for ${what}: the process had already exited`));
      const waiter: Waiter = {
        check: () => {
          if (!condition()) return false;
          done();
          resolve();
          return true;
        },
        fail: (why) => {
          done();
          reject(this.failure(`waiting for ${what}: ${why}`));
        },
      };
      const timer = setTimeout(() => waiter.fail(`not seen within ${timeoutMs} ms`), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for the process to exit, at most `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`the process did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(name: NodeJS.Signals): void {
    process.kill(this.pid, name);
  }

  /** Kills the process if it still runs (for afterEach). */
  async kill(): Promise<void> {
    if (this.child.pid === undefined || !this.alive) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.waitForExit(5_000).catch(() => undefined);
  }

  private checkWaiters(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** An error carrying what the process printed, so a failure can be read without rerunning. */
  failure(why: string): Error {
    const tail = this.lines.slice(-40).map((l) => JSON.stringify(l));
    return new Error(
      `${this.label}: ${why}\n--- last stdout lines ---\n${[...this.otherLines, ...tail].join('\n')}\n--- stderr ---\n${this.stderr}`,
    );
  }
}

function parse(text: string): LogLine | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && typeof (value as LogLine).message === 'string') return value as LogLine;
  } catch {
    // Not JSON.
  }
  return null;
}
