import { afterAll, afterEach } from 'vitest';

/**
 * Fails any test during which the process saw an `unhandledRejection` or an
 * `uncaughtException` (SPEC §4.9: "no process crash, no unhandled
 * rejection"). Loaded by vitest as a `setupFiles` entry, so it applies to
 * every test file.
 *
 * The events are recorded by process listeners and reported by the next
 * `afterEach` (or, after the last test, the file's `afterAll`), with each
 * error's stack. Tests that provoke such an event on purpose must catch it
 * themselves; none should.
 */

interface Seen {
  kind: 'unhandledRejection' | 'uncaughtException';
  error: unknown;
}

// One set of listeners per process, even when a worker runs several files.
const STATE = Symbol.for('schedkit/test/unhandled-guard');
type GuardState = { seen: Seen[] };
const holder = globalThis as unknown as Record<symbol, GuardState | undefined>;
const state: GuardState =
  holder[STATE] ??
  (() => {
    const created: GuardState = { seen: [] };
    process.on('unhandledRejection', (reason) => created.seen.push({ kind: 'unhandledRejection', error: reason }));
    process.on('uncaughtException', (error) => created.seen.push({ kind: 'uncaughtException', error }));
    holder[STATE] = created;
    return created;
  })();

// Captured before any test can install fake timers: the yield below must be a
// real turn of the event loop.
const realSetImmediate = globalThis.setImmediate;

/**
 * Node emits `unhandledRejection` once the microtask queue of the tick that
 * rejected has drained: one real macrotask turn lets a rejection from the
 * test's last tick be seen here rather than in the next test.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

function describe(entry: Seen): string {
  const { error } = entry;
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return `${entry.kind}: ${text}`;
}

async function check(where: string): Promise<void> {
  await nextTurn();
  if (state.seen.length === 0) return;
  const found = state.seen.splice(0);
  throw new Error(`${found.length} unhandled error(s) ${where}:\n\n${found.map(describe).join('\n\n')}`);
}

/** Takes (and clears) what the listeners recorded so far: for the guard's own test. */
export function takeUnhandled(): Array<{ kind: string; error: unknown }> {
  return state.seen.splice(0);
}

afterEach(() => check('during this test'));
afterAll(() => check('in this file after its last test (hooks or teardown)'));
