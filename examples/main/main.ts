/**
 * schedkit's main example: `npm start` (or `npx tsx examples/main/main.ts`).
 *
 * A service wired FX-style with an Inversify container, on the in-memory
 * backend, with the default winston logger (readable in a terminal, JSON lines
 * when stdout is piped). Within ~10 seconds it shows:
 *
 * - `heartbeat`: a cron job with a seconds field (every 2 s), paused at ~4 s and resumed at ~7 s;
 * - `inventory-sync`: an interval job (`{ every: '3s' }`) from a `@Scheduled` method;
 * - `send-email`: a one-off run with params, triggered for now + 1 s with an `id`;
 * - `flaky-import`: fails twice, retried after a fixed 500 ms, succeeds on attempt 3;
 * - `slow-report`: times out after 300 ms; its handler stops when `ctx.signal` aborts;
 * - the lifecycle: hooks start in dependency order and stop in reverse.
 *
 * Press Ctrl-C to stop gracefully (exit code 0).
 *
 * Files: jobs.ts (a JobRegistrar and a @Scheduled class), demo.ts (triggers,
 * pause/resume, event logging).
 */
import { Container } from 'inversify';
import { App, schedulerModule, TOKENS } from 'schedkit';
import { Demo } from './demo.js';
import { DemoJobs, InventoryJobs } from './jobs.js';

const container = new Container();
container.load(schedulerModule({ maxConcurrent: 10, shutdownTimeoutMs: 5_000 }));
container.bind(TOKENS.JobRegistrar).to(DemoJobs).inSingletonScope();
container.bind(InventoryJobs).toSelf().inSingletonScope(); // found by the App: its @Scheduled methods are registered
container.bind(Demo).toSelf().inSingletonScope();

// Builds everything; hooks so far: logger, backend:memory, lock:memory, executor, registrars, scheduler.
const app = new App(container);
const demo = container.get(Demo);
app.lifecycle.append({ name: 'demo', onStart: () => demo.start(), onStop: () => demo.stop() });

await app.run(); // start; wait for SIGINT/SIGTERM; stop in reverse; exit 0
