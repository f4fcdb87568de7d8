import { Dashboard } from '../src/dashboard/dashboard.js';
import type { Command } from './command.js';
import { openClient, storeOf } from './connection.js';
import { integer } from './usage.js';

/** `schedkit dashboard`: the dashboard beside the workers, on a `SchedulerClient`, until SIGINT or SIGTERM. */
export const dashboardCommand: Command = {
  words: ['dashboard'],
  args: [],
  summary: 'serve the dashboard beside the app until Ctrl-C (127.0.0.1:8790; read-only without a token)',
  options: {
    port: { type: 'string', help: 'port to listen on (default 8790; 0: any free port)', value: 'PORT' },
    host: { type: 'string', help: 'address to listen on (default 127.0.0.1)', value: 'HOST' },
    token: { type: 'string', help: 'needed by every change, at least 16 characters (or SCHEDKIT_DASHBOARD_TOKEN)', value: 'TOKEN' },
  },
  usesStore: true,
  async run({ values, io }) {
    const token = typeof values.token === 'string' ? values.token : io.env.SCHEDKIT_DASHBOARD_TOKEN;
    const port = values.port === '0' ? 0 : values.port === undefined ? undefined : integer(values.port, '--port');
    const { client, close } = await openClient(storeOf(values, io.env));
    try {
      const dashboard = new Dashboard({
        source: client,
        ...(port === undefined ? {} : { port }),
        ...(typeof values.host === 'string' ? { host: values.host } : {}),
        ...(token === undefined || token === '' ? {} : { token }),
      });
      const { url } = await dashboard.start();
      io.stdout.write(`dashboard on ${url} (${token === undefined || token === '' ? 'read-only: no token' : 'changes need the token'}); Ctrl-C stops it\n`);
      await (io.stopped ?? untilSignal)();
      await dashboard.stop();
      return 0;
    } finally {
      await close();
    }
  },
};

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
