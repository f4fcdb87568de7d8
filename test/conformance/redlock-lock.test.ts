import { afterAll, beforeAll } from 'vitest';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import { randomPrefix, startMasters, type RedisServer } from '../helpers/redis-server.js';
import type { LockHarness } from '../../src/conformance/harness.js';
import { describeLockConformance } from '../../src/conformance/lock-conformance.js';
import { freezeProcess, wait } from '../helpers/fixtures.js';

// Servers are started once per file; every test gets its own key prefix.
let one: RedisServer[] = [];
let three: RedisServer[] = [];

beforeAll(async () => {
  [one, three] = await Promise.all([startMasters(1), startMasters(3)]);
});

afterAll(async () => {
  await Promise.all([...one, ...three].map((server) => server.stop()));
});

function harness(servers: () => RedisServer[]): () => Promise<LockHarness> {
  return async () => {
    const lock = new RedlockLock({ masters: servers().map((s) => ({ url: s.url })), prefix: randomPrefix('lock') });
    await lock.connect();
    return { lock, advance: wait, freeze: freezeProcess, close: () => lock.close() };
  };
}

describeLockConformance('redlock, one master', harness(() => one));
describeLockConformance('redlock, three masters', harness(() => three));
