import { SystemClock, type Clock, type TimerHandle } from '../clock/clock.js';
import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import { messages } from '../errors/messages.js';
import { ConfigError, ErrorCode, LifecycleError, SchedkitError } from '../errors/schedkit-error.js';
import { NoopLogger, type LogFields, type Logger } from '../observability/logger.js';
import type { Hook, HookRegistry } from './hook.js';

/** Where a `Lifecycle` is: `start()` moves it stopped → starting → started, `stop()` back. */
export type LifecycleState = 'stopped' | 'starting' | 'started' | 'stopping';

/** The two phases a hook takes part in. */
export type LifecyclePhase = 'start' | 'stop';

/** How long one hook callback took (clock milliseconds), successful or not. */
export interface HookRuntime {
  readonly name: string;
  readonly phase: LifecyclePhase;
  readonly ms: number;
}

/** Options of `new Lifecycle(...)`; all optional. */
export interface LifecycleOptions {
  /** Measures runtimes and arms the deadlines. @default new SystemClock() */
  clock?: Clock;
  /** Receives one line per hook (`hook started`, `hook stopped`, failures). @default new NoopLogger() */
  logger?: Logger;
  /** Deadline of the whole start phase. @default 15000 */
  startTimeoutMs?: number;
  /** Deadline of the whole stop phase (a rollback is a stop phase too). @default 15000 */
  stopTimeoutMs?: number;
}

/**
 * How long a stop hook reached only after the stop deadline has passed (a
 * previous hook hung) may still take. It is called with an already aborted
 * signal, so it can release what it holds (flush logs, close sockets) quickly.
 */
export const LATE_HOOK_GRACE_MS = 1_000;

/**
 * Start/stop hooks run in dependency order, with the semantics of uber-go/fx.
 *
 * - `append(hook)` adds a hook; components append theirs as they are built,
 *   so a component's hook comes after the hooks of what it was built from.
 * - `start()` runs every `onStart` in append order. Each gets an `AbortSignal`
 *   that aborts at the phase deadline (`startTimeoutMs`) or at the hook's own
 *   `timeoutMs`, whichever comes first. The first failure (throw, reject, or
 *   deadline) ends the start and rolls back: `onStop` of the hooks whose
 *   `onStart` completed runs in reverse order; then `start()` rejects with a
 *   `LifecycleError` (`E_START_FAILED`) whose `cause` (and `errors[0]`) is the
 *   failure; rollback failures follow in `errors`. A hook without `onStart`
 *   counts as started.
 * - `stop()` runs `onStop` in reverse order for the started hooks only. It
 *   keeps going after errors and timeouts and then rejects with one
 *   `LifecycleError` (`E_STOP_FAILED`) holding every error in `errors`.
 * - A hook that never settles does not block: at its deadline it is abandoned
 *   (its result is ignored) and fails with `E_HOOK_TIMEOUT` naming it.
 * - `start()`/`stop()` are idempotent. A concurrent caller gets the in-flight
 *   promise; `start()` when started and `stop()` when stopped resolve at once;
 *   `stop()` during a start waits for the start to settle, then stops (and
 *   `start()` during a stop waits for the stop, then starts).
 *
 * If a hook's `onStart` did not complete, its `onStop` is not called.
 * Appending while starting or stopping throws `E_INVALID_ARGUMENT`; a hook
 * appended while started is logged and first runs at the next start.
 *
 * @example
 * const lifecycle = new Lifecycle({ logger, startTimeoutMs: 5_000 });
 * lifecycle.append({ name: 'db', onStart: () => db.connect(), onStop: () => db.close() });
 * lifecycle.append({ name: 'server', onStart: (signal) => server.listen(signal), onStop: () => server.close(), timeoutMs: 2_000 });
 * await lifecycle.start(); // db, then server
 * await lifecycle.stop();  // server, then db
 */
export class Lifecycle implements HookRegistry {
  /** Deadline of the start phase, in ms. */
  readonly startTimeoutMs: number;
  /** Deadline of the stop phase, in ms. */
  readonly stopTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly hooks: Hook[] = [];
  /** hooks[0 .. startedCount) have completed their onStart and not been stopped since. */
  private startedCount = 0;
  private current: LifecycleState = 'stopped';
  private inFlight: Promise<void> = Promise.resolve();
  private runtimes: HookRuntime[] = [];

  constructor(options: LifecycleOptions = {}) {
    const problems: string[] = [];
    for (const field of ['startTimeoutMs', 'stopTimeoutMs'] as const) {
      const value = options[field];
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= MAX_TIMER_MS)) {
        problems.push(`${field} must be a finite number from 1 to ${MAX_TIMER_MS}, got ${String(value)}`);
      }
    }
    if (problems.length > 0) throw new ConfigError(problems, 'Lifecycle');
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? new NoopLogger();
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  }

  /** `stopped`, `starting`, `started` or `stopping`. */
  get state(): LifecycleState {
    return this.current;
  }

  /** Names of the appended hooks, in append (= start) order. */
  hookNames(): string[] {
    return this.hooks.map((hook) => hook.name);
  }

  /**
   * Runtimes of the hook callbacks of the latest start (including its
   * rollback) and the stop after it, in the order they ran. Hooks without
   * the phase's callback are not listed.
   */
  hookRuntimes(): HookRuntime[] {
    return this.runtimes.map((r) => ({ ...r }));
  }

  /**
   * Adds a hook after the ones already appended.
   *
   * @throws SchedkitError `E_INVALID_ARGUMENT` for a malformed hook, or while the lifecycle is starting or stopping.
   */
  append(hook: Hook): void {
    validateHook(hook);
    if (this.current === 'starting' || this.current === 'stopping') {
      throw new SchedkitError(ErrorCode.InvalidArgument, messages.appendWhileBusy(hook.name, this.current), {
        details: { hook: hook.name, state: this.current },
      });
    }
    if (this.current === 'started') {
      // fx semantics: the hook missed this start, so it is not stopped by the next stop either.
      this.log('warn', 'hook appended while started; it runs from the next start', { hook: hook.name });
    }
    this.hooks.push(hook);
  }

  /** Runs every `onStart` in order; see the class comment for failures, deadlines and idempotence. */
  start(): Promise<void> {
    switch (this.current) {
      case 'started':
        return Promise.resolve();
      case 'starting':
        return this.inFlight;
      case 'stopping':
        return this.inFlight.catch(() => undefined).then(() => this.start());
      case 'stopped':
        this.current = 'starting';
        // Hooks run from a microtask, so `inFlight` is set before any hook can call back into us.
        this.inFlight = Promise.resolve().then(() => this.runStart());
        return this.inFlight;
    }
  }

  /** Runs `onStop` of the started hooks in reverse; see the class comment. */
  stop(): Promise<void> {
    switch (this.current) {
      case 'stopped':
        return Promise.resolve();
      case 'stopping':
        return this.inFlight;
      case 'starting':
        return this.inFlight.catch(() => undefined).then(() => this.stop());
      case 'started':
        this.current = 'stopping';
        this.inFlight = Promise.resolve().then(() => this.runStop());
        return this.inFlight;
    }
  }

  private async runStart(): Promise<void> {
    this.runtimes = [];
    const begin = this.clock.now();
    const deadline = begin + this.startTimeoutMs;
    const hooks = [...this.hooks];
    for (let i = this.startedCount; i < hooks.length; i++) {
      const hook = hooks[i]!;
      if (hook.onStart !== undefined) {
        const failure = await this.runHook(hook, 'start', hook.onStart, deadline, this.startTimeoutMs);
        if (failure !== null) {
          this.log('warn', 'start failed; rolling back started hooks', { hook: hook.name, started: this.startedCount });
          const rollback = await this.stopStarted();
          this.current = 'stopped';
          const error = new LifecycleError(ErrorCode.StartFailed, messages.startFailed(hook.name, failure.message), [
            failure,
            ...rollback.map((r) => r.error),
          ]);
          // LifecycleError sets `cause` only for a single error; the start failure is the cause either way.
          Object.defineProperty(error, 'cause', { value: failure, configurable: true, writable: true, enumerable: false });
          throw error;
        }
      }
      this.startedCount = i + 1;
    }
    this.current = 'started';
    this.log('info', 'lifecycle started', { hooks: hooks.length, ms: this.clock.now() - begin });
  }

  private async runStop(): Promise<void> {
    const begin = this.clock.now();
    const failures = await this.stopStarted();
    this.current = 'stopped';
    const ms = this.clock.now() - begin;
    if (failures.length === 0) {
      this.log('info', 'lifecycle stopped', { ms });
      return;
    }
    this.log('error', 'lifecycle stopped with errors', { ms, failed: failures.map((f) => f.hook) });
    const why = failures.map((f) => `"${f.hook}": ${f.error.message}`).join('; ');
    throw new LifecycleError(
      ErrorCode.StopFailed,
      messages.stopFailed(failures.length, why),
      failures.map((f) => f.error),
    );
  }

  /** Stops the started hooks in reverse under one stop deadline; never throws. */
  private async stopStarted(): Promise<{ hook: string; error: Error }[]> {
    const deadline = this.clock.now() + this.stopTimeoutMs;
    const failures: { hook: string; error: Error }[] = [];
    for (let i = this.startedCount - 1; i >= 0; i--) {
      const hook = this.hooks[i]!;
      // Counted as stopped before the call: a hook is stopped at most once per start, even if it fails.
      this.startedCount = i;
      if (hook.onStop === undefined) continue;
      const failure = await this.runHook(hook, 'stop', hook.onStop, deadline, this.stopTimeoutMs);
      if (failure !== null) failures.push({ hook: hook.name, error: failure });
    }
    return failures;
  }

  /** Runs one callback against its deadline; resolves to its failure, or null. Never rejects. */
  private async runHook(
    hook: Hook,
    phase: LifecyclePhase,
    fn: (signal: AbortSignal) => Promise<void> | void,
    phaseDeadline: number,
    phaseMs: number,
  ): Promise<Error | null> {
    const begin = this.clock.now();
    const controller = new AbortController();
    const remaining = phaseDeadline - begin;
    let budget: number;
    if (remaining > 0) {
      budget = Math.min(hook.timeoutMs ?? Number.POSITIVE_INFINITY, remaining);
    } else {
      const late = new SchedkitError(ErrorCode.HookTimeout, messages.phaseDeadlinePassed(hook.name, phase, phaseMs), {
        details: { hook: hook.name, phase, timeoutMs: phaseMs },
      });
      if (phase === 'start') return this.finish(hook, phase, begin, late);
      // A stop hook still runs, so it can let go of what it holds, but with an aborted signal and a short grace.
      controller.abort(late);
      budget = Math.min(hook.timeoutMs ?? Number.POSITIVE_INFINITY, LATE_HOOK_GRACE_MS);
    }

    let timer: TimerHandle | undefined;
    const deadlineHit = new Promise<Error>((resolve) => {
      timer = this.clock.setTimeout(() => {
        const error = new SchedkitError(ErrorCode.HookTimeout, messages.hookTimeout(hook.name, phase, budget), {
          details: { hook: hook.name, phase, timeoutMs: budget },
        });
        if (!controller.signal.aborted) controller.abort(error);
        resolve(error);
      }, budget);
    });
    let settled: Promise<Error | null>;
    try {
      // The rejection handler is attached here, so an abandoned hook that rejects later is not unhandled.
      settled = Promise.resolve(fn.call(hook, controller.signal)).then(
        () => null,
        (thrown: unknown) => toError(thrown, hook.name, phase),
      );
    } catch (thrown) {
      settled = Promise.resolve(toError(thrown, hook.name, phase));
    }
    const failure = await Promise.race([settled, deadlineHit]);
    this.clock.clearTimeout(timer!);
    return this.finish(hook, phase, begin, failure);
  }

  private finish(hook: Hook, phase: LifecyclePhase, begin: number, failure: Error | null): Error | null {
    const ms = this.clock.now() - begin;
    this.runtimes.push({ name: hook.name, phase, ms });
    if (failure === null) {
      this.log('info', phase === 'start' ? 'hook started' : 'hook stopped', { hook: hook.name, ms });
    } else {
      this.log('error', phase === 'start' ? 'hook failed to start' : 'hook failed to stop', { hook: hook.name, ms, error: failure });
    }
    return failure;
  }

  // A logger that throws must not break a start or a stop.
  private log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields): void {
    try {
      this.logger[level](message, fields);
    } catch {
      // Logging is best effort.
    }
  }
}

function toError(thrown: unknown, hook: string, phase: LifecyclePhase): Error {
  return thrown instanceof Error ? thrown : new Error(messages.hookThrewNonError(hook, phase, thrown), { cause: thrown });
}

function validateHook(hook: Hook): void {
  const fail = (why: string): never => {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidHook(why));
  };
  if (typeof hook !== 'object' || hook === null) fail('expected an object with a name');
  if (typeof hook.name !== 'string' || hook.name.length === 0) fail('name must be a non-empty string');
  for (const key of ['onStart', 'onStop'] as const) {
    if (hook[key] !== undefined && typeof hook[key] !== 'function') fail(`"${hook.name}": ${key} must be a function`);
  }
  const timeout = hook.timeoutMs;
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 1 && timeout <= MAX_TIMER_MS)) {
    fail(`"${hook.name}": timeoutMs must be a finite number from 1 to ${MAX_TIMER_MS}, got ${String(timeout)}`);
  }
}
