import type { Container } from 'inversify';
import { keepProcessAlive } from '../src/clock/clock.js';
import type { Lifecycle } from '../src/lifecycle/lifecycle.js';
import type { LogFields, Logger } from '../src/observability/logger.js';
import type { SchedulerClient } from '../src/client/scheduler-client.js';
import { messages } from '../src/errors/messages.js';
import { ErrorCode, SchedkitError } from '../src/errors/schedkit-error.js';
import type { Scheduler } from '../src/scheduler/scheduler.js';
import { exploreScheduled, registerScheduled, type FoundScheduled } from './explorer/scheduled-explorer.js';
import { TOKENS } from './tokens.js';

/**
 * Where an `App` listens for signals: `process`, or any `EventEmitter` in
 * tests. (The `once`/`off` of `Pick<NodeJS.Process, 'once' | 'off'>`, typed
 * loosely enough that a plain `EventEmitter` fits too.)
 */
export interface SignalSource {
  once(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
}

/** Options of `new App(...)`; the defaults are the real process. */
export interface AppOptions {
  /** Where OS signals come from. @default process */
  signals?: SignalSource;
  /** Ends the process. @default process.exit */
  exit?: (code: number) => void;
  /** Signals that start a graceful stop. @default ['SIGINT', 'SIGTERM'] */
  signalNames?: NodeJS.Signals[];
}

/**
 * Turns a loaded container into a running service, like `fx.New` + `Run`.
 *
 * The constructor resolves, in this order: the `Lifecycle`, the `Logger`, the
 * `Scheduler` (whose dependencies' factories append their hooks: logger,
 * backend, lock, executor), every bound `JobRegistrar`, and every bound class
 * with `@Scheduled` methods. Then it appends two hooks:
 *
 * - `registrars` — on start, runs each registrar's `register(scheduler)` in
 *   binding order, then registers the `@Scheduled` methods. Runs once per
 *   App: a restarted App keeps the scheduler's registrations.
 * - `scheduler` — `scheduler.start()` on start, `scheduler.stop()` on stop.
 *
 * So the start order is logger, backend, lock, executor, registrars,
 * scheduler, and stop is the reverse. Resolution errors (a missing binding, a
 * factory that throws) are thrown by the constructor.
 *
 * A bound `SchedulerClient` is resolved too (`app.client`). In client mode
 * (`schedulerModule({ client: true })`: no `Scheduler` bound) the app is a
 * process that schedules without running jobs: it resolves the client, so
 * its backend's hook is appended, and appends neither `registrars` nor
 * `scheduler`; a bound `JobRegistrar` or `@Scheduled` class is refused
 * (`E_INVALID_ARGUMENT`), since nothing here would run it.
 *
 * @example
 * const container = new Container();
 * container.load(schedulerModule({ maxConcurrent: 20 }));
 * container.bind(TOKENS.JobRegistrar).toConstantValue({
 *   register: (scheduler) => scheduler.register({ name: 'cleanup', schedule: '0 * * * *', handler: cleanup }),
 * });
 * await new App(container).run(); // start; wait for SIGINT/SIGTERM; stop; exit
 */
export class App {
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
  /** The bound `SchedulerClient`, or undefined when none is bound. */
  readonly client: SchedulerClient | undefined;
  private readonly runner: Scheduler | undefined;
  private readonly signals: SignalSource;
  private readonly exit: (code: number) => void;
  private readonly signalNames: readonly NodeJS.Signals[];
  private running: Promise<number> | undefined;

  constructor(container: Container, options: AppOptions = {}) {
    this.signals = options.signals ?? process;
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.signalNames = [...(options.signalNames ?? ['SIGINT', 'SIGTERM'])];

    this.lifecycle = container.get(TOKENS.Lifecycle);
    // Resolved before the scheduler so the logger's hook is first (it stops last) whatever the scheduler's factory asks for.
    this.logger = container.get(TOKENS.Logger);
    const clientMode = !container.isBound(TOKENS.Scheduler) && container.isBound(TOKENS.SchedulerClient);
    this.runner = clientMode ? undefined : container.get(TOKENS.Scheduler);
    this.client = container.isBound(TOKENS.SchedulerClient) ? container.get(TOKENS.SchedulerClient) : undefined;
    const registrars = container.getAll(TOKENS.JobRegistrar, { optional: true });
    const scheduled: FoundScheduled[] = exploreScheduled(container);
    if (clientMode) {
      if (registrars.length + scheduled.length > 0) {
        throw new SchedkitError(
          ErrorCode.InvalidArgument,
          messages.appClientModeJobs(),
        );
      }
      return;
    }

    let registered = false;
    this.lifecycle.append({
      name: 'registrars',
      onStart: async () => {
        if (registered) return;
        for (const registrar of registrars) await registrar.register(this.scheduler);
        await registerScheduled(this.scheduler, scheduled);
        registered = true;
      },
    });
    this.lifecycle.append({
      name: 'scheduler',
      onStart: () => this.scheduler.start(),
      onStop: () => this.scheduler.stop(),
    });
  }

  /**
   * The scheduler. Throws `E_INVALID_ARGUMENT` in client mode, which has
   * none (use `client`).
   */
  get scheduler(): Scheduler {
    if (this.runner === undefined) {
      throw new SchedkitError(ErrorCode.InvalidArgument, messages.appClientModeScheduler());
    }
    return this.runner;
  }

  /** Starts every hook in order (see `Lifecycle.start`). */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /**
   * Stops the started hooks in reverse (see `Lifecycle.stop`). The process
   * stays alive until the stop has finished, whatever hook it is waiting on.
   */
  stop(): Promise<void> {
    const release = keepProcessAlive();
    return this.lifecycle.stop().finally(release);
  }

  /**
   * Starts, waits for the first of `signalNames`, stops, and exits:
   *
   * - start fails → the error is logged, `exit(1)`, resolves 1;
   * - first signal (also during start) → graceful stop; clean → `exit(0)`,
   *   resolves 0; failed or timed out → `exit(1)`, resolves 1;
   * - another signal during the stop → `exit(1)` at once, resolves 1 (the
   *   stop is abandoned).
   *
   * Signal listeners are installed before the start and removed when done;
   * while it waits, `run()` keeps the process alive.
   * Calling `run()` again returns the same promise.
   */
  run(): Promise<number> {
    this.running ??= this.runOnce();
    return this.running;
  }

  private async runOnce(): Promise<number> {
    let phase: 'starting' | 'running' | 'stopping' | 'done' = 'starting';
    let requestStop!: () => void;
    const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
    let force!: () => void;
    const forced = new Promise<'forced'>((resolve) => (force = () => resolve('forced')));
    const listeners = new Map<NodeJS.Signals, () => void>();
    // Signal listeners do not keep Node alive, and schedkit's own timers are
    // unref'd: without this, a service with nothing else to do would exit
    // right after start instead of waiting for its signal.
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1);

    const disarm = (): void => {
      clearInterval(keepAlive);
      for (const [name, listener] of listeners) this.signals.off(name, listener);
      listeners.clear();
    };
    const finish = (code: number): number => {
      phase = 'done';
      disarm();
      this.exit(code);
      return code;
    };
    const arm = (name: NodeJS.Signals): void => {
      const listener = (): void => {
        listeners.delete(name);
        if (phase === 'done') return;
        // Listen again: without a listener, the next signal would kill the process with no exit code of ours.
        arm(name);
        if (phase === 'stopping') {
          this.log('warn', `received ${name} during stop, exiting now`, { signal: name });
          finish(1);
          force();
          return;
        }
        this.log('info', `received ${name}, stopping`, { signal: name });
        phase = 'stopping';
        requestStop();
      };
      listeners.set(name, listener);
      this.signals.once(name, listener);
    };
    for (const name of this.signalNames) arm(name);

    const started = await Promise.race([
      this.lifecycle.start().then(
        () => null,
        (error: unknown) => error,
      ),
      forced,
    ]);
    if (started === 'forced') return 1;
    if (started !== null) {
      this.log('error', 'start failed, exiting', { error: started });
      return finish(1);
    }
    if (phase === 'starting') {
      phase = 'running';
      this.log('info', `started; waiting for ${this.signalNames.join(' or ')}`, { hooks: this.lifecycle.hookNames() });
    }

    await stopRequested;
    const stopped = await Promise.race([
      this.lifecycle.stop().then(
        () => 0,
        (error: unknown) => {
          this.log('error', 'stop failed, exiting', { error });
          return 1;
        },
      ),
      forced,
    ]);
    if (stopped === 'forced') return 1;
    this.log('info', `stopped, exiting with code ${stopped}`, { code: stopped });
    return finish(stopped);
  }

  // A logger that throws (or was flushed and closed) must not change the exit path.
  private log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields): void {
    try {
      this.logger[level](message, fields);
    } catch {
      // Best effort.
    }
  }
}
