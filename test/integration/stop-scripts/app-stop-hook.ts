// Run as a child process by stop-keeps-process-alive.test.ts: `await
// app.stop()` waiting on a hook whose stop never settles must keep the
// process alive until stopTimeoutMs ends the stop.
import { Container } from 'inversify';
import { App, NoopLogger, SchedkitError, TOKENS, schedulerModule } from 'schedkit';
import { print } from './shared.js';

const container = new Container();
container.load(schedulerModule({ shutdownTimeoutMs: 100, stopTimeoutMs: 500 }));
container.rebind(TOKENS.Logger).toConstantValue(new NoopLogger());
const app = new App(container);
app.lifecycle.append({ name: 'never-stops', onStop: () => new Promise<void>(() => undefined) });
await app.start();

print('stopping');
try {
  await app.stop();
  print('stopped');
} catch (error) {
  print('stop failed', { code: error instanceof SchedkitError ? error.code : String(error) });
}
