/**
 * One graphile-worker instance of the postgres suite: a runner whose crontab
 * has one item per job (`* * * * * tick ?id=job-<n> {job:<n>}`), one task
 * `tick` that only records its run, at its documented defaults but
 * `concurrency` (the suite's, 10; default 1). Each job's slot is the
 * `_cron.ts` graphile-worker puts in the payload of every job its crontab
 * creates. Errors and warnings it logs, failed jobs and fatal errors are
 * counted.
 */
import { Logger, run, type Runner, type Task } from 'graphile-worker';
import { fail, runInstance, type Tally } from './instance-kit.js';

/** Log lines are counted by their text with numbers blanked ("fired too late; catching up (N minutes behind)"). */
function countingLogger(tally: Tally): Logger {
  return new Logger(() => (level, message) => {
    // LogLevel is a const enum of strings ('error', 'warning', 'info', 'debug').
    const name = String(level);
    if (name === 'error' || name === 'warning') tally.add(`${name}: ${message.split('\n')[0]!.replace(/\d+(\.\d+)?/g, 'N').slice(0, 160)}`);
  });
}

await runInstance((config, log, tally) => {
  if (config.every !== 'minute') throw new Error('graphile-worker crontab is minute-granular: it runs every minute only');
  let runner: Runner | undefined;
  const tick: Task = (payload) => {
    const { job, _cron } = payload as { job: number; _cron?: { ts: string } };
    if (_cron === undefined) {
      tally.add('job without _cron');
      return;
    }
    log.record(job, Date.parse(_cron.ts));
  };
  return {
    async start() {
      const crontab = Array.from({ length: config.jobs }, (_, i) => `* * * * * tick ?id=job-${i} {job:${i}}`).join('\n');
      runner = await run({
        connectionString: config.url,
        concurrency: config.concurrency,
        // The suite stops every instance with SIGTERM through instance-kit, which calls runner.stop(); graphile-worker's own handlers would exit first.
        noHandleSignals: true,
        logger: countingLogger(tally),
        crontab,
        taskList: { tick },
      });
      runner.events.on('job:failed', () => tally.add('job failed'));
      runner.events.on('job:error', () => tally.add('job error'));
      runner.events.on('worker:fatalError', () => tally.add('worker fatal error'));
      runner.events.on('pool:listen:error', () => tally.add('pool listen error'));
      runner.events.on('cron:overdueTimer', () => tally.add('cron overdue timer'));
      runner.events.on('cron:prematureTimer', () => tally.add('cron premature timer'));
    },
    async stop() {
      await runner?.stop();
    },
  };
}).catch(fail);
