import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { createWorld, type World } from '../helpers/scheduler-harness.js';
import { redisInstance, type RedisInstance } from '../helpers/redis-scheduler.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import type { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import type { RecordingLogger } from '../../src/observability/recording-logger.js';

// History keeps 100 entries per job: a handler throwing a 1 MB message must
// not store 1 MB per entry. Stored error texts are cut at 8 KiB of UTF-8 on a
// character boundary and say how much was cut.

const LIMIT = 8 * 1024;
const MARKER = /… \[cut: (\d+) bytes\]$/;

const messages = {
  ascii: 'x'.repeat(1024 * 1024),
  // 3-byte characters after one ASCII byte: 8 KiB falls inside a character.
  'three-byte': `a${'€'.repeat(350_000)}`,
  // Surrogate pairs (4 bytes) after one or two ASCII bytes.
  'four-byte': `ab${'😀'.repeat(270_000)}`,
};

function expectCut(stored: string | null, original: string): void {
  expect(stored).not.toBeNull();
  const marker = MARKER.exec(stored!);
  expect(marker, 'the stored text ends with the cut marker').not.toBeNull();
  const kept = stored!.slice(0, marker!.index);
  const keptBytes = Buffer.byteLength(kept, 'utf8');
  expect(keptBytes).toBeLessThanOrEqual(LIMIT);
  // Within one character of the limit: nothing more than needed was cut.
  expect(keptBytes).toBeGreaterThan(LIMIT - 4);
  expect(original.startsWith(kept)).toBe(true);
  expect(kept).not.toMatch(/[\uD800-\uDBFF]$/);
  expect(Number(marker![1])).toBe(Buffer.byteLength(original, 'utf8') - keptBytes);
}

async function failWith(scheduler: Scheduler, name: string, message: string, settle: () => Promise<void>): Promise<void> {
  await scheduler.register({
    name,
    handler: () => {
      throw new Error(message);
    },
  });
  const failed = new Promise<void>((resolve) => scheduler.on('run:failure', (e) => e.name === name && resolve()));
  await scheduler.trigger(name);
  await settle();
  await failed;
}

describe('stored error texts are capped at 8 KiB', () => {
  describe('memory backend', () => {
    let world: World;
    afterEach(async () => world?.stopAll());

    it.each(Object.entries(messages))('%s message of about 1 MB: history and lastError keep 8 KiB and a marker', async (name, message) => {
      world = createWorld();
      const { scheduler } = world.instance();
      await scheduler.start();
      await failWith(scheduler, name, message, () => world.clock.advance(1_000));

      const [entry] = await scheduler.history(name);
      expectCut(entry!.error, message);
      expectCut((await scheduler.getJob(name))!.lastError, message);
    });

    it('a short message is stored as it is', async () => {
      world = createWorld();
      const { scheduler } = world.instance();
      await scheduler.start();
      const message = '€'.repeat(LIMIT / 3);
      await failWith(scheduler, 'short', message, () => world.clock.advance(1_000));
      expect((await scheduler.history('short'))[0]!.error).toBe(message);
    });
  });

  describe('Redis backend', () => {
    let server: RedisServer;
    let instance: RedisInstance<RecordingLogger, InMemoryMetrics> | undefined;
    beforeAll(async () => {
      server = await startRedis();
    }, 30_000);
    afterEach(async () => {
      await instance?.close();
      instance = undefined;
    });
    afterAll(async () => server?.stop());

    it.each(Object.entries(messages))('%s message of about 1 MB: history and lastError keep 8 KiB and a marker', async (name, message) => {
      instance = await redisInstance({ url: server.url, prefix: randomPrefix('cap') });
      await instance.scheduler.start();
      await failWith(instance.scheduler, name, message, async () => undefined);

      // The outcome is recorded before run:failure is emitted.
      const [entry] = await instance.scheduler.history(name);
      expectCut(entry!.error, message);
      expectCut((await instance.scheduler.getJob(name))!.lastError, message);
    });
  });
});
