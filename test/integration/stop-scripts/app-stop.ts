// Run as a child process by stop-keeps-process-alive.test.ts: like
// scheduler-stop.ts, through the container and a top-level `await app.stop()`.
import { Container } from 'inversify';
import { App, NoopLogger, TOKENS, schedulerModule, type JobRegistrar } from 'schedkit';
import { neverSettlingJob, print } from './shared.js';

const { job, untilStarted } = neverSettlingJob();
const container = new Container();
container.load(schedulerModule({ shutdownTimeoutMs: 300, stopTimeoutMs: 2_000 }));
container.rebind(TOKENS.Logger).toConstantValue(new NoopLogger());
container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({ register: (scheduler) => scheduler.register(job) });

const app = new App(container);
await app.start();
await app.scheduler.trigger('never-settles');
await untilStarted();

print('stopping');
await app.stop();
print('stopped');
