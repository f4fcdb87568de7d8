// Run as a child process by stop-keeps-process-alive.test.ts: a started
// scheduler with nothing else alive must not hold the process open; only a
// stop in progress does.
import { memoryScheduler, print } from './shared.js';

const scheduler = memoryScheduler({});
await scheduler.register({ name: 'hourly', schedule: '0 * * * *', handler: () => undefined });
await scheduler.start();
print('started');
