/**
 * One schedkit instance of the postgres suite: a Scheduler built by hand
 * (benchmarks/lib/schedkit.ts) on a PostgresBackend and a PostgresLock that
 * share one `pg.Pool`, made as `postgresBackendModule` makes it (10
 * connections, 5 s connect and query timeouts). `jobs` jobs every minute or
 * every second, a handler that only records its run; `maxConcurrent` is the
 * suite's concurrency (schedkit's default, 10). Every other setting is the
 * default. Errors and warnings logged, outages, reruns and skips are
 * counted.
 */
import pg from 'pg';
import { PostgresBackend, PostgresLock } from 'schedkit/postgres';
import { countIncidentEvents, IncidentLogger, type IncidentSink } from '../../lib/incidents.js';
import { benchScheduler } from '../../lib/schedkit.js';
import { cronOf, fail, runInstance } from './instance-kit.js';

await runInstance((config, log, tally) => {
  const pool = new pg.Pool({ connectionString: config.url, max: 10, connectionTimeoutMillis: 5_000, query_timeout: 5_000, application_name: config.instanceId });
  // An idle client that loses its connection emits 'error' on the pool; counted, not a crash.
  pool.on('error', (error) => tally.add(`pool error: ${error.message}`));
  const backend = new PostgresBackend({ pool });
  const lock = new PostgresLock({ pool });
  const sink: IncidentSink = {
    count: (name) => tally.add(name),
    dropped: (drop) => {
      for (let i = 0; i < drop.dropped; i++) tally.add('misfire dropped');
    },
  };
  const scheduler = benchScheduler(backend, lock, { instanceId: config.instanceId, maxConcurrent: config.concurrency }, new IncidentLogger(sink));
  countIncidentEvents(scheduler, sink);
  return {
    async start() {
      await backend.connect();
      await lock.connect();
      // In batches, as the fire suite registers: a thousand at once, then the next thousand.
      for (let from = 0; from < config.jobs; from += 1_000) {
        const batch: Array<Promise<unknown>> = [];
        for (let i = from; i < Math.min(from + 1_000, config.jobs); i++) {
          batch.push(scheduler.register({ name: `job-${i}`, schedule: cronOf(config), handler: (ctx) => log.record(i, ctx.scheduledAt.getTime()) }));
        }
        await Promise.all(batch);
      }
      await scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      await lock.close();
      await backend.close();
      await pool.end();
    },
  };
}).catch(fail);
