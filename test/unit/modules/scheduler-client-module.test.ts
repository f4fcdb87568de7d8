import { EventEmitter } from 'node:events';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { App } from '../../../modules/app.js';
import { schedulerClientModule } from '../../../modules/scheduler-client.module.js';
import { schedulerModule } from '../../../modules/scheduler.module.js';
import { TOKENS } from '../../../modules/tokens.js';
import { SchedulerClient } from '../../../src/client/scheduler-client.js';
import { FakeClock } from '../../../src/clock/fake-clock.js';
import { ConfigError, SchedkitError } from '../../../src/errors/schedkit-error.js';
import { NoopLogger } from '../../../src/observability/logger.js';

/** A container whose clock and logger are quiet test doubles. */
function container(...modules: Parameters<Container['load']>): Container {
  const built = new Container();
  built.bind(TOKENS.Clock).toConstantValue(new FakeClock('2026-01-01T00:00:00.000Z'));
  built.bind(TOKENS.Logger).toConstantValue(new NoopLogger());
  built.load(...modules);
  return built;
}

describe('schedulerClientModule', () => {
  it('binds a singleton client on the scheduler’s backend and config', async () => {
    const c = container(schedulerModule({ instanceId: 'worker-1' }), schedulerClientModule());
    const client = c.get(TOKENS.SchedulerClient);
    expect(client).toBeInstanceOf(SchedulerClient);
    expect(c.get(TOKENS.SchedulerClient)).toBe(client);
    expect(client.backend).toBe(c.get(TOKENS.Backend));
    expect(client.instanceId).toBe('worker-1');

    // What the worker registers, the client can trigger.
    const scheduler = c.get(TOKENS.Scheduler);
    await scheduler.register({ name: 'publish', handler: () => {} });
    await expect(client.trigger('publish')).rejects.toMatchObject({ code: 'E_JOB_NOT_FOUND' }); // not stored before start
    await scheduler.start();
    expect(await client.trigger('publish', { id: 'p-1' })).toMatchObject({ id: 'p-1', created: true });
    const stopping = scheduler.stop();
    await (c.get(TOKENS.Clock) as FakeClock).advance(60_000);
    await stopping;
  });
});

describe('schedulerModule({ client: true })', () => {
  it('binds the client and no scheduler, lock or executor', () => {
    const c = container(schedulerModule({ client: true, instanceId: 'web-1' }));
    expect(c.get(TOKENS.SchedulerClient).instanceId).toBe('web-1');
    expect(c.isBound(TOKENS.Scheduler)).toBe(false);
    expect(c.isBound(TOKENS.JobExecutor)).toBe(false);
    expect(c.get(TOKENS.SchedulerConfig).instanceId).toBe('web-1');
  });

  it('refuses a client switch that is not a boolean, and still checks the config', () => {
    expect(() => schedulerModule({ client: 'yes' as never })).toThrow(ConfigError);
    expect(() => schedulerModule({ client: true, maxConcurent: 3 } as never)).toThrow(ConfigError);
  });

  it('makes an App a process that starts the backend and runs no scheduler', async () => {
    const c = container(schedulerModule({ client: true }));
    const signals = new EventEmitter();
    const app = new App(c, { signals, exit: () => {} });
    expect(app.client).toBe(c.get(TOKENS.SchedulerClient));
    expect(() => app.scheduler).toThrow(SchedkitError);
    await app.start();
    // The logger is a bound constant here (no hook): only the backend starts.
    expect(app.lifecycle.hookNames()).toEqual(['backend:memory']);
    await app.stop();
  });

  it('refuses job registrars in client mode: nothing would run them', () => {
    const c = container(schedulerModule({ client: true }));
    c.bind(TOKENS.JobRegistrar).toConstantValue({ register: () => undefined });
    const error = (() => {
      try {
        new App(c, { signals: new EventEmitter(), exit: () => {} });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toContain('client mode');
  });
});
