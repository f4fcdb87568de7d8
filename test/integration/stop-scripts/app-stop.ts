// Run as a child process by stop-keeps-process-alive.test.ts: like
// scheduler-stop.ts, through the container and a top-level `await app.stop()`.
import { Container } from 'inversify';
import { App, NoopLogger, SchedkitError, TOKENS, schedulerModule, type JobRegistrar } from 'schedkit';

const print = (message: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ message, ...fields }));

let handlerStarted!: () => void;
const started = new Promise<void>((resolve) => (handlerStarted = resolve));
const container = new Container();
container.load(schedulerModule({ shutdownTimeoutMs: 300, stopTimeoutMs: 2_000 }));
container.rebind(TOKENS.Logger).toConstantValue(new NoopLogger());
container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
  register: (scheduler) =>
    scheduler.register({
      name: 'never-settles',
      handler: (ctx) => {
        ctx.signal.addEventListener('abort', () => {
          const reason: unknown = ctx.signal.reason;
          print('handler aborted', { code: reason instanceof SchedkitError ? reason.code : String(reason) });
        });
        handlerStarted();
        return new Promise<void>(() => undefined);
      },
    }),
});

const app = new App(container);
await app.start();
await app.scheduler.trigger('never-settles');
// Until the handler runs, the script keeps itself alive: what is under test is the stop.
const untilStarted = setInterval(() => undefined, 1_000);
await started;
clearInterval(untilStarted);

print('stopping');
await app.stop();
print('stopped');
