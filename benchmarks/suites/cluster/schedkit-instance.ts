/**
 * One schedkit instance of the cluster-throughput suite: a Scheduler built by
 * hand on a RedisBackend and a RedlockLock (one master), the same `jobs`
 * jobs every instance registers, every second, with a handler that only
 * records its run. Started by `startScript` (config in BENCH_CONFIG): prints
 * `loaded`, waits for SIGUSR2, registers and starts, prints `ready`, and
 * `result` once SIGTERM has stopped it.
 */
import { countIncidentEvents, IncidentLogger, type IncidentSink } from '../../lib/incidents.js';
import { scriptConfig } from '../../lib/processes.js';
import { redisScheduler } from '../../lib/schedkit.js';
import { countSentCommands, fail, loadedThenWait, RunLog, SecondTicker, serve, Tally } from './instance-kit.js';
import type { InstanceConfig } from './protocol.js';

async function main(): Promise<void> {
  const config = scriptConfig<InstanceConfig>();
  await loadedThenWait();
  const sent = countSentCommands();
  const log = new RunLog();
  const tally = new Tally();
  const sink: IncidentSink = { count: (name) => tally.add(name) };
  const url = `redis://${config.host}:${config.port}`;
  const { scheduler, close } = await redisScheduler(
    url,
    config.prefix,
    { instanceId: config.instanceId, maxConcurrent: config.concurrency },
    // Errors and warnings logged (e.g. "could not record run outcome") are counted by message, info/debug dropped.
    new IncidentLogger(sink),
  );
  countIncidentEvents(scheduler, sink);

  for (let i = 0; i < config.jobs; i++) {
    await scheduler.register({
      name: `job-${i}`,
      schedule: '* * * * * *',
      handler: (ctx) => log.record(i, ctx.scheduledAt.getTime()),
    });
  }
  await scheduler.start();
  const ticker = new SecondTicker(sent);
  ticker.start();
  serve(config, {
    log,
    ticker,
    tally,
    stop: close,
  });
}

main().catch(fail);
