import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { redisBackendModule } from '../../../modules/redis-backend.module.js';
import { schedulerModule } from '../../../modules/scheduler.module.js';
import { TOKENS } from '../../../modules/tokens.js';
import type { Backend } from '../../../src/backend/backend.js';
import { RedisBackend } from '../../../src/backend/redis/redis-backend.js';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { RedlockLock } from '../../../src/lock/redlock/redlock-lock.js';

// Nothing here connects: a "not connected" error is raised before any Redis call.
const url = 'redis://127.0.0.1:1';

async function rejection(promise: Promise<unknown>): Promise<SchedkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!SchedkitError.is(error)) throw new Error(`expected a SchedkitError, got ${String(error)}`);
  return error;
}

describe('"not connected" names the fix that applies to how the object was built', () => {
  it('by hand: call connect() first', async () => {
    const backend = new RedisBackend({ connection: { url } });
    const backendError = await rejection(backend.time());
    expect(backendError.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(backendError.message).toBe('RedisBackend.time: not connected (call connect() first)');

    const lock = new RedlockLock({ masters: [{ url }] });
    const lockError = await rejection(lock.acquire('r', { ttlMs: 1_000 }));
    expect(lockError.code).toBe('E_NOT_STARTED');
    expect(lockError.message).toMatch(/the RedlockLock is not connected \(call connect\(\) first\)$/);
  });

  it('by redisBackendModule: start the app', async () => {
    const container = new Container();
    container.load(schedulerModule(), redisBackendModule({ url }));
    const backend = container.get<Backend>(TOKENS.Backend);
    const backendError = await rejection(backend.time());
    expect(backendError.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(backendError.message).toBe(
      "RedisBackend.time: not connected — it connects in the app's start hook: call await app.start() (or app.run()) before using the scheduler",
    );

    const lock = container.get<DistributedLock>(TOKENS.DistributedLock);
    const lockError = await rejection(lock.acquire('r', { ttlMs: 1_000 }));
    expect(lockError.code).toBe('E_NOT_STARTED');
    expect(lockError.message).toMatch(/the RedlockLock is not connected — it connects in the app's start hook: call await app\.start\(\) \(or app\.run\(\)\)/);
  });

  it('refuses an unknown connectedBy', () => {
    expect(() => new RedisBackend({ connection: { url }, connectedBy: 'module' as never })).toThrow(/connectedBy must be 'caller' or 'app'/);
    expect(() => new RedlockLock({ masters: [{ url }], connectedBy: 'module' as never })).toThrow(/connectedBy must be 'caller' or 'app'/);
  });
});
