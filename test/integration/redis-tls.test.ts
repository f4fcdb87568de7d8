import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { redisBackendModule } from '../../modules/redis-backend.module.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import type { Logger } from '../../src/observability/logger.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { rejection } from '../helpers/fixtures.js';
import { randomPrefix } from '../helpers/redis-server.js';
import { redisInstance } from '../helpers/redis-scheduler.js';
import { makeCertificates, startTlsRedis, type TlsRedisServer } from '../helpers/tls.js';

/**
 * SPEC §4/§10: TLS passes through the connection options to ioredis. A
 * `redis-server` listening only on a TLS port, with a certificate signed by a
 * CA the harness made: the backend, the lock and the module connect and run a
 * job end to end when given the CA; a client that does not trust it is refused
 * with `E_BACKEND_UNAVAILABLE`.
 */

let server: TlsRedisServer;
beforeAll(async () => {
  server = await startTlsRedis();
});
afterAll(async () => {
  await server?.stop();
});

const trusted = (): RedisConnection => ({ options: { host: server.host, port: server.port, tls: { ca: server.ca } } });

/** Resolves with the params of the first successful run of `name`. */
function firstSuccess(scheduler: Scheduler, name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const off = scheduler.on('run:success', (event) => {
      if (event.name !== name) return;
      off();
      resolve(event);
    });
  });
}

describe('Redis over TLS', () => {
  it('RedisBackend + RedlockLock with tls options run a triggered job end to end', async () => {
    const { scheduler, lock, close } = await redisInstance({
      connection: trusted(),
      prefix: randomPrefix('tls'),
      config: { instanceId: 'tls-1', pollIntervalMs: 200 },
    });
    try {
      const seen: Array<{ params: unknown; fencingToken: number }> = [];
      await scheduler.register({ name: 'secure-job', handler: (ctx) => void seen.push({ params: ctx.params, fencingToken: ctx.fencingToken }) });
      await scheduler.start();
      const done = firstSuccess(scheduler, 'secure-job');
      await scheduler.trigger('secure-job', { id: 'tls-run-1', params: { over: 'tls' } });
      await done;
      expect(seen).toEqual([{ params: { over: 'tls' }, fencingToken: expect.any(Number) }]);
      const history = await scheduler.history('secure-job');
      expect(history.map((h) => [h.id, h.outcome])).toEqual([['tls-run-1', 'success']]);

      // The lock on its own, over the same TLS connection options.
      const lease = await lock.acquire('report:tls', { ttlMs: 5_000 });
      expect(lease).not.toBeNull();
      expect(await lock.acquire('report:tls', { ttlMs: 5_000 })).toBeNull();
      await lease!.extend();
      await lease!.release();
      expect(await lock.using('report:tls', { ttlMs: 5_000 }, (_signal, token) => token)).toBeGreaterThan(lease!.fencingToken);
    } finally {
      await close();
    }
  });

  it('redisBackendModule with a rediss:// URL and the CA in the connection options runs a job', async () => {
    const container = new Container();
    container.load(
      schedulerModule({ pollIntervalMs: 200 }),
      redisBackendModule({ connection: { url: server.url, options: { tls: { ca: server.ca } } }, prefix: randomPrefix('tlsmod') }),
    );
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
    const runs: unknown[] = [];
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
      register: (scheduler) => scheduler.register({ name: 'invoice', tenantId: 'acme', handler: (ctx) => void runs.push(ctx.params) }),
    });
    const app = new App(container, { signals: new EventEmitter(), exit: vi.fn() });
    await app.start();
    try {
      const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
      const done = firstSuccess(scheduler, 'invoice');
      await scheduler.trigger('invoice', { tenantId: 'acme', params: { n: 1 } });
      await done;
      expect(runs).toEqual([{ n: 1 }]);
    } finally {
      await app.stop();
    }
  });

  it('redisBackendModule with tls options (host, port, tls.ca) connects too', async () => {
    const container = new Container();
    container.load(schedulerModule({ pollIntervalMs: 200 }), redisBackendModule({ connection: trusted(), prefix: randomPrefix('tlsopt') }));
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
    const app = new App(container, { signals: new EventEmitter(), exit: vi.fn() });
    await app.start();
    try {
      const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
      await scheduler.register({ name: 'ping', handler: () => {} });
      expect(await scheduler.getJob('ping')).toMatchObject({ name: 'ping', registeredHere: true });
    } finally {
      await app.stop();
    }
  });

  describe('a client that does not trust the CA is refused with E_BACKEND_UNAVAILABLE', () => {
    const untrusted: Array<[string, () => RedisConnection]> = [
      ['a rediss:// URL without the CA', () => ({ url: server.url })],
      ['tls options without the CA', () => ({ options: { host: server.host, port: server.port, tls: {} } })],
      ['another CA than the one that signed the certificate', () => ({ options: { host: server.host, port: server.port, tls: { ca: otherCa } } })],
    ];
    let otherCa: string;
    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'schedkit-tls-other-'));
      try {
        otherCa = readFileSync((await makeCertificates(dir)).caCert, 'utf8');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.each(untrusted)('RedisBackend: %s', async (_label, connection) => {
      const backend = new RedisBackend({ connection: connection(), prefix: randomPrefix('tlsbad') });
      try {
        const error = await rejection(backend.connect());
        expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
        expect((error as Error).message).toMatch(/certificate/);
      } finally {
        await backend.close();
      }
    });

    it.each(untrusted)('RedlockLock: %s', async (_label, connection) => {
      const lock = new RedlockLock({ masters: [connection()], prefix: randomPrefix('tlsbad') });
      try {
        const error = await rejection(lock.connect());
        expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
        expect((error as Error).message).toMatch(/certificate/);
      } finally {
        await lock.close();
      }
    });

    it('redisBackendModule: the app fails to start, names the hook, and rolls back', async () => {
      const container = new Container();
      container.load(schedulerModule(), redisBackendModule({ url: server.url, prefix: randomPrefix('tlsbad') }));
      container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
      const app = new App(container, { signals: new EventEmitter(), exit: vi.fn() });
      const error = await rejection(app.start());
      expect((error as Error).message).toMatch(/backend:redis/);
      const causes = (error as { errors?: unknown[] }).errors ?? [];
      expect(SchedkitError.is(causes[0], 'E_BACKEND_UNAVAILABLE')).toBe(true);
    });
  });
});
