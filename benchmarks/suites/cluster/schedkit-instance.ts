/**
 * One schedkit instance of the cluster-throughput suite: a Scheduler built by
 * hand on a RedisBackend and a RedlockLock (one master), the same `jobs`
 * jobs every instance registers, every second, with a handler that only
 * records its run. Started by `startScript` (config in BENCH_CONFIG): prints
 * `loaded`, waits for SIGUSR2, registers and starts, prints `ready`, and
 * `result` once SIGTERM has stopped it.
 */
import type { LogFields, Logger } from '../../../src/index.js';
import { scriptConfig } from '../../lib/processes.js';
import { redisScheduler } from '../../lib/schedkit.js';
import { countSentCommands, fail, loadedThenWait, RunLog, SecondTicker, serve, Tally } from './instance-kit.js';
import type { InstanceConfig } from './protocol.js';

/** Drops info/debug lines, counts warnings and errors by message (they end up in the result). */
class TallyLogger implements Logger {
  constructor(private readonly tally: Tally) {}
  debug(): void {}
  info(): void {}
  warn(message: string, _fields?: LogFields): void {
    this.tally.add(`warn: ${message}`);
  }
  error(message: string, _fields?: LogFields): void {
    this.tally.add(`error: ${message}`);
  }
  child(): Logger {
    return this;
  }
}

async function main(): Promise<void> {
  const config = scriptConfig<InstanceConfig>();
  await loadedThenWait();
  const sent = countSentCommands();
  const log = new RunLog();
  const tally = new Tally();
  const url = `redis://${config.host}:${config.port}`;
  const { scheduler, close } = await redisScheduler(
    url,
    config.prefix,
    { instanceId: config.instanceId, maxConcurrent: config.concurrency },
    new TallyLogger(tally),
  );
  scheduler.on('run:failure', (e) => tally.add(`run:failure ${e.outcome}`));
  scheduler.on('run:skipped', (e) => tally.add(`run:skipped ${e.reason}`));
  scheduler.on('run:stalled', () => tally.add('run:stalled'));
  scheduler.on('lock:lost', () => tally.add('lock:lost'));
  scheduler.on('backend:down', () => tally.add('backend:down'));

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
