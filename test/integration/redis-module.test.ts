import { EventEmitter } from 'node:events';
import { Container } from 'inversify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { redisBackendModule } from '../../modules/redis-backend.module.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import type { Backend } from '../../src/backend/backend.js';
import type { Logger } from '../../src/observability/logger.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { randomPrefix, startRedis, startSentinel, type RedisServer, type RedisSentinel } from '../helpers/redis-server.js';

let secured: RedisServer;
let sentinel: RedisSentinel;
beforeAll(async () => {
  // The default user is off; only `app` may connect, and only to its namespace.
  secured = await startRedis({
    aclUsers: ['user default off', 'user app on >app-secret ~{billing}:* &{billing}:* +@all'],
  });
  sentinel = await startSentinel();
});
afterAll(async () => {
  await secured?.stop();
  await sentinel?.stop();
});

/** A container on the Redis backend, an App with fake signals, and a job that records its runs. */
function app(module: ReturnType<typeof redisBackendModule>, config: Parameters<typeof schedulerModule>[0] = {}) {
  const container = new Container();
  container.load(schedulerModule({ pollIntervalMs: 200, ...config }), module);
  const logger = new RecordingLogger();
  container.rebind<Logger>(TOKENS.Logger).toConstantValue(logger);
  const runs: string[] = [];
  container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
    register: (scheduler) =>
      scheduler.register({ name: 'invoice', tenantId: 'acme', handler: (ctx) => void runs.push(String((ctx.params as { n: number }).n)) }),
  });
  const exit = vi.fn();
  return { container, logger, runs, app: new App(container, { signals: new EventEmitter(), exit }) };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('redisBackendModule', () => {
  it('runs on a server with AUTH and an ACL user restricted to its namespace, and stops in reverse order', async () => {
    const { container, logger, runs, app: service } = app(
      redisBackendModule({ connection: { url: secured.url, options: { username: 'app', password: 'app-secret' } }, prefix: 'billing' }),
    );
    expect(service.lifecycle.hookNames()).toEqual(['backend:redis', 'lock:redlock', 'executor', 'registrars', 'scheduler']);
    await service.start();
    const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
    await scheduler.trigger('invoice', { tenantId: 'acme', params: { n: 1 } });
    await until(() => runs.length === 1);
    expect(runs).toEqual(['1']);
    await service.stop();
    const stops = logger.entries.filter((e) => e.message === 'hook stopped').map((e) => e.fields.hook);
    expect(stops).toEqual(['scheduler', 'executor', 'lock:redlock', 'backend:redis']);
    // Everything it wrote is under the namespace the ACL allows.
    const admin = new Redis({ host: secured.host, port: secured.port, username: 'app', password: 'app-secret' });
    const keys = await admin.keys('*');
    admin.disconnect();
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) expect(key.startsWith('{billing}:')).toBe(true);
  });

  it('fails to start with E_BACKEND_UNAVAILABLE on wrong credentials, and rolls back', async () => {
    const { app: service } = app(redisBackendModule({ connection: { url: secured.url, options: { username: 'app', password: 'wrong' } }, prefix: 'billing' }));
    const error = await service.start().catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/backend:redis/);
    expect(((error as { errors?: Array<{ code?: string }> }).errors ?? [])[0]?.code).toBe('E_BACKEND_UNAVAILABLE');
  });

  it('takes the URL from the config (SCHEDKIT_REDIS_URL) when given none', async () => {
    const server = await startRedis();
    try {
      const { container, runs, app: service } = app(redisBackendModule({ prefix: randomPrefix('env') }), { redisUrl: server.url });
      await service.start();
      await container.get<Scheduler>(TOKENS.Scheduler).trigger('invoice', { tenantId: 'acme', params: { n: 7 } });
      await until(() => runs.length === 1);
      expect(container.get<Backend>(TOKENS.Backend).kind).toBe('redis');
      await service.stop();
    } finally {
      await server.stop();
    }
  });

  it('connects through Sentinel (connection options pass through to ioredis)', async () => {
    const { container, runs, app: service } = app(
      redisBackendModule({
        connection: { options: { sentinels: [{ host: sentinel.host, port: sentinel.port }], name: sentinel.masterName } },
        prefix: randomPrefix('sentinel'),
      }),
    );
    await service.start();
    await container.get<Scheduler>(TOKENS.Scheduler).trigger('invoice', { tenantId: 'acme', params: { n: 3 } });
    await until(() => runs.length === 1);
    expect(runs).toEqual(['3']);
    await service.stop();
  });
});
