/**
 * The scheduler's metrics on `/metrics`, for Prometheus to scrape:
 *
 *   npx tsx examples/prometheus/main.ts        # then: curl http://127.0.0.1:9464/metrics
 *
 * Two jobs (one that succeeds every 2 s, one that fails every 3 s and is
 * retried once) so every counter moves. `METRICS_PORT` changes the port;
 * the server binds to 127.0.0.1 only. Ctrl-C stops it.
 */
import { createServer } from 'node:http';
import { Container } from 'inversify';
import { Registry } from 'prom-client';
import { App, schedulerModule, TOKENS } from 'schedkit';
import { prometheusMetricsModule } from 'schedkit/prometheus';

const registry = new Registry();
const container = new Container();
container.load(schedulerModule(), prometheusMetricsModule({ registry }));

container.bind(TOKENS.JobRegistrar).toConstantValue({
  async register(scheduler) {
    await scheduler.register({ name: 'refresh-cache', schedule: '*/2 * * * * *', handler: async () => {} });
    await scheduler.register({
      name: 'sync-partner',
      schedule: '*/3 * * * * *',
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 200 },
      handler: async () => {
        throw new Error('partner API answered 503');
      },
    });
  },
});

const server = createServer((request, response) => {
  if (request.url !== '/metrics') {
    response.writeHead(404).end();
    return;
  }
  registry.metrics().then(
    (text) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
    (error: unknown) => response.writeHead(500).end(String(error)),
  );
});

const app = new App(container);
app.lifecycle.append({
  name: 'metrics-server',
  onStart: () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(process.env.METRICS_PORT ?? 9464), '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        container.get(TOKENS.Logger).info('metrics served', { url: `http://127.0.0.1:${port}/metrics` });
        resolve();
      });
    }),
  onStop: () => new Promise<void>((resolve) => server.close(() => resolve())),
});
await app.run();
