// Run as a child process by stop-keeps-process-alive.test.ts: a script whose
// only live work is a handler that never settles, stopped with a top-level
// `await scheduler.stop()`. Prints one JSON line per milestone.
import { memoryScheduler, neverSettlingJob, print } from './shared.js';

const scheduler = memoryScheduler({ shutdownTimeoutMs: 300, stopTimeoutMs: 2_000 });
const { job, untilStarted } = neverSettlingJob();
await scheduler.register(job);
await scheduler.start();
await scheduler.trigger('never-settles');
await untilStarted();

print('stopping');
await scheduler.stop();
print('stopped');
