import { KeyTable } from '../../src/backend/key-table.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClaimedRun, SlotClaim } from '../../src/backend/backend.js';
import { RedisKeys, isValidJobKey } from '../../src/backend/redis/keys.js';
import { RedisBackend, type RedisBackendOptions } from '../../src/backend/redis/redis-backend.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { isValidName, jobKey } from '../../src/job/job-key.js';
import { parseStoredParams } from '../../src/job/json-params.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { jobUpsert, rejection } from '../helpers/fixtures.js';

/**
 * Redis-specific behaviour of `RedisBackend`: the key layout and namespace
 * isolation, prototype-pollution safety of stored data, AUTH and ACL users,
 * outages, notifications, and the number of commands on the fire path.
 * The contract itself is covered by test/conformance/redis-backend.test.ts.
 */

const MINUTE = 60_000;
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let server: RedisServer;
let admin: Redis;
const backends: RedisBackend[] = [];
const servers: RedisServer[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await admin.connect();
}, 30_000);

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

afterAll(async () => {
  await admin?.quit().catch(() => undefined);
  await Promise.allSettled([server?.stop(), ...servers.map((s) => s.stop())]);
});

async function open(options: Partial<RedisBackendOptions> = {}): Promise<RedisBackend> {
  const backend = new RedisBackend({ connection: { url: server.url }, prefix: randomPrefix('it'), ...options });
  backends.push(backend);
  await backend.connect();
  return backend;
}

function slotClaim(key: string, slot: number, overrides: Partial<SlotClaim> = {}): SlotClaim {
  return {
    key,
    slot,
    runId: randomUUID(),
    instanceId: 'instance-a',
    leaseMs: 5_000,
    definitionHash: 'h1',
    overlap: 'skip',
    nextRunAt: slot + MINUTE,
    requeueOnStall: false,
    maxAttempts: 1,
    ...overrides,
  };
}

async function claimOk(backend: RedisBackend, key: string, slot: number, overrides: Partial<SlotClaim> = {}): Promise<ClaimedRun> {
  const result = await backend.claimSlot(slotClaim(key, slot, overrides));
  if (result.status !== 'claimed') throw new Error(`expected claimed, got ${result.status}`);
  return result.run;
}

function finishOf(run: ClaimedRun) {
  return {
    key: run.key,
    id: run.id,
    fencingToken: run.fencingToken,
    instanceId: 'instance-a',
    outcome: 'success' as const,
    error: null,
    durationMs: 5,
  };
}

async function allKeys(client: Redis, match = '*'): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

const ids = (n: number) => Array.from({ length: n }, () => randomUUID());

describe('RedisBackend options and lifecycle', () => {
  it('rejects bad options with E_CONFIG, naming every problem', () => {
    const bad: unknown[] = [
      { connection: { url: 'redis://x' }, prefix: '{evil}' },
      { connection: { url: 'redis://x' }, prefix: '' },
      { connection: { url: 'redis://x' }, prefix: 'a'.repeat(101) },
      { connection: { url: 'redis://x' }, prefix: 'with space' },
      { connection: { url: 'redis://x' }, historyLimit: 0 },
      { connection: { url: 'redis://x' }, historyLimit: 1.5 },
      { connection: { url: 'redis://x' }, historyLimit: Number.NaN },
      {},
      { connection: { url: 'redis://x' }, client: new Redis({ lazyConnect: true }) },
      { connection: { url: 'redis://x', options: { keyPrefix: 'app:' } } },
      null,
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        new RedisBackend(options as RedisBackendOptions);
      } catch (e) {
        error = e;
      }
      expect(SchedkitError.is(error, 'E_CONFIG'), JSON.stringify(options)).toBe(true);
    }
    let both: unknown;
    try {
      new RedisBackend({ connection: { url: 'redis://x' }, prefix: '}', historyLimit: -1 });
    } catch (e) {
      both = e;
    }
    expect((both as { problems: string[] }).problems).toHaveLength(2);
    expect(new RedisBackend({ connection: { url: 'redis://x' } }).prefix).toBe('schedkit');
  });

  it('rejects every call with E_BACKEND_UNAVAILABLE before connect and after close; connect and close are idempotent', async () => {
    const backend = new RedisBackend({ connection: { url: server.url }, prefix: randomPrefix('life') });
    const calls = (b: RedisBackend) => [
      b.time(),
      b.getJob('/a'),
      b.upsertJobs([jobUpsert('/a')]),
      b.claimSlot(slotClaim('/a', 0)),
      b.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(1) }),
      b.history('/a', 10),
      b.heartbeat([], 1_000),
      b.sweep({ retentionMs: 1, orphanTimeoutMs: 1 }),
    ];
    for (const error of await Promise.all(calls(backend).map(rejection))) {
      expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
    }
    await Promise.all([backend.connect(), backend.connect()]);
    await backend.connect();
    expect(await backend.time()).toBeGreaterThan(0);
    await Promise.all([backend.close(), backend.close()]);
    await backend.close();
    for (const error of await Promise.all([...calls(backend), backend.connect()].map(rejection))) {
      expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
    }
  });

  it('connect rejects with E_BACKEND_UNAVAILABLE when nothing listens, and can be retried', async () => {
    const dead = await startRedis();
    const url = dead.url;
    await dead.kill();
    const backend = new RedisBackend({ connection: { url }, prefix: randomPrefix('dead') });
    const started = Date.now();
    const error = await rejection(backend.connect());
    expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeLessThan(12_000);
    const revived = await dead.restart();
    servers.push(revived);
    await backend.connect();
    expect(await backend.time()).toBeGreaterThan(0);
    await backend.close();
  }, 30_000);

  it('uses a client it is given (RESP3, ioredis default) and never closes it', async () => {
    const client = new Redis(server.url);
    try {
      const backend = new RedisBackend({ client, prefix: randomPrefix('own'), historyLimit: 3 });
      await backend.connect();
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('t/own', { limit: 4, nextRunAt: now + 1 })]);
      const first = await claimOk(backend, 't/own', now - 5_000);
      for (let i = 1; i <= 4; i++) expect((await backend.claimSlot(slotClaim('t/own', now - 5_000 + i))).status).toBe('skipped');
      await backend.finishRun({ ...finishOf(first), outcome: 'failed', error: 'boom', retryInMs: 0 });
      expect(await backend.nextDueAt()).toBeGreaterThanOrEqual(now);
      await backend.enqueueRun({ key: 't/own', id: 'trig', kind: 'trigger', dueAt: now - 2, params: '{"p":1}', maxAttempts: 1 });
      const claimed = await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(5), keys: KeyTable.of(['t/own']) });
      expect(claimed.runs.map((r) => [r.id, r.attempt, r.params])).toEqual([
        ['trig', 1, '{"p":1}'],
        [first.id, 2, undefined],
      ]);
      expect(claimed.nextDueAt).toBeNull();
      const history = await backend.history('t/own', 10);
      expect(history).toHaveLength(3);
      expect(history[0]).toMatchObject({ outcome: 'failed', error: 'boom' });
      expect(history[0]!.finishedAt! - history[0]!.startedAt!).toBe(5);
      expect(await backend.getJob('t/own')).toMatchObject({ tenantId: 't', name: 'own', limit: 4, skippedCount: 4, activeRuns: 2 });
      expect((await backend.listJobs({ tenantId: 't' })).map((j) => j.key)).toEqual(['t/own']);
      expect(await backend.heartbeatInstance('x', 1_000)).toEqual(['x']);
      await backend.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe('key layout and namespaces', () => {
  it('puts every key under {prefix}: (one hash tag), in the documented layout', async () => {
    await admin.flushall();
    const backend = await open({ prefix: 'layout' });
    const keys = new RedisKeys('layout');
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('acme/a.b:c-d_e'), jobUpsert('/plain'), jobUpsert('acme/other')]);
    const active = await claimOk(backend, 'acme/a.b:c-d_e', now - 3_000);
    expect((await backend.claimSlot(slotClaim('acme/a.b:c-d_e', now - 2_000, { overlap: 'buffer-one' }))).status).toBe('buffered');
    expect((await backend.claimSlot(slotClaim('/plain', now - 2_000))).status).toBe('claimed');
    await backend.enqueueRun({ key: '/plain', id: 'trig:1', kind: 'trigger', dueAt: now - 1, params: '{}', maxAttempts: 1 });
    const [trig] = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(1), keys: KeyTable.of(['/plain']) })).runs;
    await backend.finishRun(finishOf(trig!));
    await backend.finishRun(finishOf(active));
    await backend.heartbeatInstance('instance-a', 10_000);
    await backend.removeJob('acme/other');

    const stored = await allKeys(admin);
    expect(stored.length).toBeGreaterThan(10);
    const layout = [
      /^\{layout\}:(jobs|seen|removed|pending|active|done|seq|instances|heard)$/,
      /^\{layout\}:(job|runs|history|due):[A-Za-z0-9_.:/-]+$/,
      /^\{layout\}:(tenant-jobs|trigger-ids):[A-Za-z0-9_.:-]*$/,
      /^\{layout\}:rate:[A-Za-z0-9_.:-]+$/,
      /^\{layout\}:run:[A-Za-z0-9_.:/-]+#[A-Za-z0-9_.:-]+$/,
      /^\{layout\}:filter:[0-9a-f-]{36}$/,
    ];
    for (const key of stored) {
      expect(RedisKeys.hashTag(key), key).toBe('layout');
      expect(layout.some((pattern) => pattern.test(key)), key).toBe(true);
    }
    for (const expected of [keys.job('acme/a.b:c-d_e'), keys.history('/plain'), keys.run('/plain', 'trig:1'), keys.pending, keys.done, keys.jobs, keys.tenantJobs('acme'), keys.tenantJobs(''), keys.triggerIds(''), keys.heard]) {
      expect(stored).toContain(expected);
    }
    // Removal left a tombstone and nothing else of the job.
    expect(stored.filter((k) => k.includes('acme/other'))).toEqual([]);
    expect(await admin.zscore(keys.removed, 'acme/other')).not.toBeNull();
  });

  it('builds key names for any job key of the allowed charset inside the namespace, and refuses the rest', async () => {
    const charset = 'ABCXYZabcxyz0189_.:-';
    const pick = (n: number) => Array.from({ length: n }, () => charset[Math.floor(Math.random() * charset.length)]).join('');
    const keys = new RedisKeys('ns-1');
    for (let i = 0; i < 500; i++) {
      const tenant = i % 3 === 0 ? undefined : pick(1 + (i % 40));
      const key = jobKey(pick(1 + (i % 60)), tenant);
      expect(isValidJobKey(key)).toBe(true);
      for (const name of [keys.job(key), keys.runs(key), keys.history(key), keys.run(key, pick(36)), keys.tenantJobs(tenant ?? '')]) {
        expect(name.startsWith('{ns-1}:')).toBe(true);
        expect(RedisKeys.hashTag(name)).toBe('ns-1');
      }
    }
    // A tenant or name trying to leave the namespace never passes the scheduler's validation...
    for (const evil of ['x}:job:/a', '{other}', 'a b', 'a#b', 'a/b', '']) expect(isValidName(evil)).toBe(false);
    // ...and the backend refuses such keys itself, writing nothing.
    await admin.flushall();
    const backend = await open({ prefix: 'ns-1' });
    for (const evil of ['x}:job:/a', '{other}:job:/a', '/a#b', '/a b', '']) {
      const error = await rejection(backend.upsertJobs([jobUpsert('/fine'), jobUpsert(evil)]));
      expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
      expect(await backend.getJob(evil)).toBeNull();
      expect((await backend.claimSlot(slotClaim(evil, 0))).status).toBe('removed');
    }
    const badId = await rejection(backend.enqueueRun({ key: '/fine', id: 'x}:y', kind: 'trigger', dueAt: 0, params: undefined, maxAttempts: 1 }));
    expect(SchedkitError.is(badId, 'E_INVALID_ARGUMENT')).toBe(true);
    expect(await allKeys(admin)).toEqual([]);
  });

  it('isolates two prefixes on one server', async () => {
    const a = await open();
    const b = await open();
    const now = await a.time();
    await a.upsertJobs([jobUpsert('/shared', { definitionHash: 'ha' })]);
    await b.upsertJobs([jobUpsert('/shared', { definitionHash: 'hb' })]);
    await a.enqueueRun({ key: '/shared', id: 'only-a', kind: 'trigger', dueAt: now - 1, params: undefined, maxAttempts: 1 });
    let bNotified = 0;
    b.onRunsChanged(() => bNotified++);
    const aRun = await claimOk(a, '/shared', now - 1_000, { definitionHash: 'ha' });
    expect(aRun.fencingToken).toBe(1);
    // The same slot is still free in the other namespace.
    expect((await b.claimSlot(slotClaim('/shared', now - 1_000, { definitionHash: 'hb' }))).status).toBe('claimed');
    expect((await b.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(5) })).runs).toEqual([]);
    expect(await b.nextDueAt()).toBeNull();
    expect((await a.getJob('/shared'))?.definitionHash).toBe('ha');
    expect((await b.getJob('/shared'))?.definitionHash).toBe('hb');
    await a.removeJob('/shared');
    expect(await b.getJob('/shared')).not.toBeNull();
    expect(await a.heartbeatInstance('ia', 10_000)).toEqual(['ia']);
    expect(await b.heartbeatInstance('ib', 10_000)).toEqual(['ib']);
    await wait(100);
    expect(bNotified).toBe(0);
  });
});

describe('stored data is inert', () => {
  it('returns stored params as text, which parses without prototype pollution', async () => {
    const backend = await open();
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('/pp')]);
    const params = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":1}';
    await backend.enqueueRun({ key: '/pp', id: 'p', kind: 'trigger', dueAt: now - 1, params, maxAttempts: 1 });
    const [run] = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(1) })).runs;
    expect(run!.params).toBe(params);
    const parsed = parseStoredParams(run!.params!) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect(parsed.a).toBe(1);
  });

  it('reads tampered schedule and history JSON without polluting prototypes', async () => {
    const backend = await open();
    const keys = new RedisKeys(backend.prefix);
    await backend.upsertJobs([jobUpsert('/tamper')]);
    await admin.hset(keys.job('/tamper'), 'schedule', '{"kind":"cron","cron":"* * * * *","__proto__":{"polluted":true}}');
    await admin.lpush(
      keys.history('/tamper'),
      '{"runId":"r","id":"r","kind":"slot","scheduledAt":1,"startedAt":null,"finishedAt":null,"outcome":"skipped","error":null,"instanceId":"i","attempt":1,"__proto__":{"polluted":true}}',
    );
    const stored = await backend.getJob('/tamper');
    expect(stored?.schedule).toEqual({ kind: 'cron', cron: '* * * * *' });
    expect(Object.hasOwn(stored!.schedule!, '__proto__')).toBe(false);
    const [entry] = await backend.history('/tamper', 1);
    expect(entry).toEqual({
      runId: 'r',
      id: 'r',
      kind: 'slot',
      scheduledAt: 1,
      startedAt: null,
      finishedAt: null,
      outcome: 'skipped',
      reason: null,
      error: null,
      instanceId: 'i',
      attempt: 1,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Corrupt JSON is a failed call, not a crash and not an outage.
    await admin.hset(keys.job('/tamper'), 'schedule', '{not json');
    const error = await rejection(backend.getJob('/tamper'));
    expect(error).toBeInstanceOf(Error);
    expect(SchedkitError.is(error)).toBe(false);
  });
});

describe('authentication', () => {
  it('works with a password-protected server through connection.options', async () => {
    const secured = await startRedis({ password: 'sekret' });
    servers.push(secured);
    const refused = new RedisBackend({ connection: { url: secured.url }, prefix: randomPrefix('auth') });
    const error = await rejection(refused.connect());
    expect(error).toBeInstanceOf(Error);
    await refused.close();

    const backend = new RedisBackend({ connection: { url: secured.url, options: { password: 'sekret' } }, prefix: randomPrefix('auth') });
    backends.push(backend);
    await backend.connect();
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('/auth')]);
    const run = await claimOk(backend, '/auth', now - 1_000);
    expect(await backend.finishRun(finishOf(run))).toEqual({ recorded: true });
    let notified = 0;
    backend.onRunsChanged(() => notified++);
    await backend.enqueueRun({ key: '/auth', id: 'x', kind: 'trigger', dueAt: now, params: undefined, maxAttempts: 1 });
    await vi.waitFor(() => expect(notified).toBe(1), { timeout: 2_000, interval: 10 });
  });

  it('works as an ACL user allowed only its own namespace (keys and channel)', async () => {
    const secured = await startRedis({
      password: 'sekret',
      aclUsers: ['user default on >sekret ~* &* +@all', 'user app on >apppass ~{acl-ns}:* &{acl-ns}:* +@all'],
    });
    servers.push(secured);
    const backend = new RedisBackend({
      connection: { url: secured.url, options: { username: 'app', password: 'apppass' } },
      prefix: 'acl-ns',
    });
    backends.push(backend);
    await backend.connect();
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('acme/acl')]);
    const run = await claimOk(backend, 'acme/acl', now - 1_000);
    expect((await backend.claimSlot(slotClaim('acme/acl', now - 500))).status).toBe('skipped');
    await backend.finishRun({ ...finishOf(run), outcome: 'failed', error: 'x', retryInMs: 0 });
    expect((await backend.claimDueRuns({ instanceId: 'i', leaseMs: 10, runIds: ids(2), keys: KeyTable.of(['acme/acl']) })).runs).toHaveLength(1);
    await wait(20);
    expect(await backend.reapStalledRuns()).toHaveLength(1);
    expect(await backend.listJobs({ tenantId: 'acme' })).toHaveLength(1);
    expect((await backend.history('acme/acl', 10)).map((e) => e.outcome)).toEqual(['stalled', 'failed', 'skipped']);
    expect(await backend.sweep({ retentionMs: 0, orphanTimeoutMs: MINUTE })).toEqual({ runsDeleted: 0, jobsDeleted: 0 });
    expect(await backend.removeJob('acme/acl')).toBe(true);
    // The same user cannot touch another namespace.
    const other = new RedisBackend({ connection: { url: secured.url, options: { username: 'app', password: 'apppass' } }, prefix: 'other-ns' });
    backends.push(other);
    await expect(other.connect()).rejects.toThrow();
  });
});

describe('Redis outage', () => {
  it('rejects every call with E_BACKEND_UNAVAILABLE within 1 s while the server is down, and works again after it restarts', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let victim = await startRedis();
    servers.push(victim);
    try {
      const backend = new RedisBackend({ connection: { url: victim.url }, prefix: randomPrefix('down') });
      backends.push(backend);
      await backend.connect();
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/down')]);
      const run = await claimOk(backend, '/down', now - 1_000);
      const ref = { key: run.key, id: run.id, fencingToken: run.fencingToken };
      let notified = 0;
      backend.onRunsChanged(() => notified++);

      await victim.kill();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['time', () => backend.time()],
        ['heartbeatInstance', () => backend.heartbeatInstance('i', 1_000)],
        ['removeInstance', () => backend.removeInstance('i')],
        ['upsertJobs', () => backend.upsertJobs([jobUpsert('/down')])],
        ['touchJobs', () => backend.touchJobs(['/down'])],
        ['getJob', () => backend.getJob('/down')],
        ['listJobs', () => backend.listJobs()],
        ['setPaused', () => backend.setPaused('/down', true)],
        ['removeJob', () => backend.removeJob('/down')],
        ['claimSlot', () => backend.claimSlot(slotClaim('/down', now))],
        ['enqueueRun', () => backend.enqueueRun({ key: '/down', id: 'e', kind: 'trigger', dueAt: now, params: undefined, maxAttempts: 1 })],
        ['claimDueRuns', () => backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(1) })],
        ['claimDueRuns(keys)', () => backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(1), keys: KeyTable.of(['/down']) })],
        ['nextDueAt', () => backend.nextDueAt()],
        ['heartbeat', () => backend.heartbeat([ref], 1_000)],
        ['finishRun', () => backend.finishRun(finishOf(run))],
        ['reapStalledRuns', () => backend.reapStalledRuns()],
        ['history', () => backend.history('/down', 10)],
        ['sweep', () => backend.sweep({ retentionMs: 1, orphanTimeoutMs: 1 })],
      ];
      for (const [name, call] of calls) {
        const started = Date.now();
        const error = await rejection(call());
        expect(SchedkitError.is(error, 'E_BACKEND_UNAVAILABLE'), `${name}: ${String(error)}`).toBe(true);
        expect(Date.now() - started, name).toBeLessThan(1_000);
      }

      victim = await victim.restart();
      servers.push(victim);
      await vi.waitFor(async () => expect(await backend.time()).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });
      // The restarted server is empty: register again, and everything works,
      // the key filter of claimDueRuns included (re-sent in full).
      const later = await backend.time();
      await backend.upsertJobs([jobUpsert('/down')]);
      await backend.enqueueRun({ key: '/down', id: 'after', kind: 'trigger', dueAt: later - 1, params: undefined, maxAttempts: 1 });
      const claimed = await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(2), keys: KeyTable.of(['/down']) });
      expect(claimed.runs.map((r) => r.id)).toEqual(['after']);
      // The subscriber is back too.
      await vi.waitFor(() => expect(notified).toBeGreaterThan(0), { timeout: 5_000, interval: 20 });
      await wait(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 30_000);
});

describe('onRunsChanged', () => {
  it('fires when runs may have become claimable, and not on an ordinary finish', async () => {
    const backend = await open();
    let calls = 0;
    backend.onRunsChanged(() => calls++);
    // The scripts publish the job key: watch the channel to know exactly what was sent.
    const watcher = admin.duplicate();
    const published: string[] = [];
    watcher.on('message', (_channel: string, message: string) => published.push(message));
    await watcher.subscribe(new RedisKeys(backend.prefix).channel);
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('/n'), jobUpsert('/m'), jobUpsert('/idle'), jobUpsert('/marker')]);
    let markers = 0;
    /** What was published since the last call; a marker enqueued last (pub/sub keeps order) tells when all arrived. */
    const sent = async (): Promise<string[]> => {
      await backend.enqueueRun({ key: '/marker', id: `m${++markers}`, kind: 'trigger', dueAt: now + 10 * MINUTE, params: undefined, maxAttempts: 1 });
      await vi.waitFor(() => expect(published).toContain('/marker'), { timeout: 2_000, interval: 5 });
      const before = published.splice(0, published.indexOf('/marker') + 1);
      return before.slice(0, -1);
    };
    try {
      // An ordinary finish (allow, and exclusive with nothing waiting): nothing.
      await backend.finishRun(finishOf(await claimOk(backend, '/n', now - 10_000, { overlap: 'allow' })));
      await backend.finishRun(finishOf(await claimOk(backend, '/n', now - 9_000, { overlap: 'skip' })));
      expect(await sent()).toEqual([]);

      // Enqueue: once.
      await backend.enqueueRun({ key: '/n', id: 'e', kind: 'trigger', dueAt: now + MINUTE, params: undefined, maxAttempts: 1 });
      expect(await sent()).toEqual(['/n']);

      // A buffered slot waits (no notification); the end of the exclusive run frees it (one).
      const first = await claimOk(backend, '/m', now - 8_000, { overlap: 'buffer-one' });
      expect((await backend.claimSlot(slotClaim('/m', now - 7_000, { overlap: 'buffer-one' }))).status).toBe('buffered');
      expect(await sent()).toEqual([]);
      await backend.finishRun(finishOf(first));
      expect(await sent()).toEqual(['/m']);

      // A retry goes back to pending: one.
      const [buffered] = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 5_000, runIds: ids(1), keys: KeyTable.of(['/m']) })).runs;
      await backend.finishRun({ ...finishOf(buffered!), outcome: 'failed', error: 'x', retryInMs: MINUTE });
      expect(await sent()).toEqual(['/m']);

      // Resume: only when the job has pending runs.
      await backend.setPaused('/m', true);
      await backend.setPaused('/m', false);
      await backend.setPaused('/idle', true);
      await backend.setPaused('/idle', false);
      expect(await sent()).toEqual(['/m']);

      // The backend's listener heard the messages: at most the 4 above plus
      // 6 markers; messages that arrive in one turn are told once, and each
      // marker arrived in a turn of its own (the test waited for it).
      await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(markers), { timeout: 2_000, interval: 5 });
      expect(calls).toBeLessThanOrEqual(4 + markers);
      expect(markers).toBe(6);
    } finally {
      watcher.disconnect();
    }
  });

  it('calls listeners asynchronously, swallows their errors, and stops after unsubscribe', async () => {
    const backend = await open();
    const order: string[] = [];
    backend.onRunsChanged(() => {
      order.push('throwing');
      throw new Error('listener bug');
    });
    const off = backend.onRunsChanged(() => order.push('second'));
    await backend.upsertJobs([jobUpsert('/l')]);
    await backend.enqueueRun({ key: '/l', id: 'a', kind: 'trigger', dueAt: 0, params: undefined, maxAttempts: 1 });
    order.push('same tick');
    await vi.waitFor(() => expect(order).toEqual(['same tick', 'throwing', 'second']), { timeout: 2_000, interval: 5 });
    off();
    await backend.enqueueRun({ key: '/l', id: 'b', kind: 'trigger', dueAt: 0, params: undefined, maxAttempts: 1 });
    await vi.waitFor(() => expect(order).toHaveLength(4), { timeout: 2_000, interval: 5 });
    expect(order[3]).toBe('throwing');
  });
});

describe('claimDueRuns key filter', () => {
  it('mirrors the filter in Redis from its change log, and re-sends it whole after losing the copy', async () => {
    const backend = await open();
    const keys = new RedisKeys(backend.prefix);
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('/fa'), jobUpsert('/fb'), jobUpsert('/fc')]);
    // One-off run ids are unique per tenant: each job's ids carry its name.
    const enqueue = (key: string, id: string) =>
      backend.enqueueRun({ key, id: `${key.slice(1)}-${id}`, kind: 'trigger', dueAt: now - 1, params: undefined, maxAttempts: 1 });
    const registered = KeyTable.of(['/fa']);
    const claim = () =>
      backend.claimDueRuns({ instanceId: 'i', leaseMs: 5_000, runIds: ids(10), keys: registered }).then((r) => r.runs.map((run) => `${run.key}:${run.id.slice(run.id.indexOf('-') + 1)}`));
    // The set's job keys ('#' marks a set that exists, even when empty).
    const members = async (key: string) => (await admin.smembers(key)).filter((k) => k !== '#').sort();

    await Promise.all([enqueue('/fa', '1'), enqueue('/fb', '1'), enqueue('/fc', '1')]);
    expect(await claim()).toEqual(['/fa:1']);
    registered.set('/fb', true);
    registered.delete('/fa');
    await enqueue('/fa', '2');
    expect(await claim()).toEqual(['/fb:1']);

    // The Redis copy of the filter vanishes (expiry, FLUSHALL on a replica promotion...): it is re-sent.
    const [filterKey] = await allKeys(admin, `${keys.ns}filter:*`);
    expect(filterKey).toBeDefined();
    expect(await members(filterKey!)).toEqual(['/fb']);
    await admin.del(filterKey!);
    registered.set('/fc', true);
    expect(await claim()).toEqual(['/fc:1']);
    expect(await members(filterKey!)).toEqual(['/fb', '/fc']);

    // A mirror further behind than the change log reaches is re-sent whole.
    for (let i = 0; i < 12_000; i++) registered.set(`/bulk-${i}`, true);
    for (let i = 0; i < 12_000; i++) registered.delete(`/bulk-${i}`);
    registered.set('/fa', true);
    expect(await claim()).toEqual(['/fa:2']);
    expect(await members(filterKey!)).toEqual(['/fa', '/fb', '/fc']);
    expect(await backend.nextDueAt()).toBeNull();
  });
});

describe('cost and scale', () => {
  it('a short run costs 2 commands (claim-slots, finish-run); a poll and an enqueue 1 each', async () => {
    const backend = await open({ connection: { url: server.url, options: { connectionName: 'counted' } } });
    const now = await backend.time();
    await backend.upsertJobs([jobUpsert('/cost')]);
    const filter = KeyTable.of(['/cost']);
    // Warm up: the first use of each script on a connection sends its source (EVAL).
    await backend.finishRun(finishOf(await claimOk(backend, '/cost', now - 10_000)));
    await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(3), keys: filter });
    await backend.enqueueRun({ key: '/cost', id: 'warm', kind: 'trigger', dueAt: now + MINUTE, params: undefined, maxAttempts: 1 });

    const clients = (await admin.client('LIST')) as string;
    const addr = /addr=(\S+) [^\n]*name=counted\b/.exec(clients)?.[1];
    expect(addr).toBeDefined();
    const monitor = await admin.duplicate().monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === addr) seen.push(args);
    });
    const statsBefore = await commandStats(admin);

    const run = await claimOk(backend, '/cost', now - 5_000);
    await backend.finishRun(finishOf(run));
    await wait(100);
    const shortRun = seen.splice(0);

    await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ids(3), keys: filter });
    await wait(100);
    const poll = seen.splice(0);

    await backend.enqueueRun({ key: '/cost', id: 'counted', kind: 'trigger', dueAt: now + MINUTE, params: undefined, maxAttempts: 1 });
    await wait(100);
    const enqueue = seen.splice(0);
    const statsAfter = await commandStats(admin);
    monitor.disconnect();

    expect(shortRun.map((args) => args[0]!.toLowerCase())).toEqual(['evalsha', 'evalsha']);
    expect(poll.map((args) => args[0]!.toLowerCase())).toEqual(['evalsha']);
    expect(enqueue.map((args) => args[0]!.toLowerCase())).toEqual(['evalsha']);
    // Every top-level command on the server in that window: the four above, plus the INFO that read the stats.
    expect((statsAfter.get('evalsha') ?? 0) - (statsBefore.get('evalsha') ?? 0)).toBe(4);
    expect((statsAfter.get('eval') ?? 0) - (statsBefore.get('eval') ?? 0)).toBe(0);
  });

  it('batches large upserts and pages listJobs; sweeps in bounded calls', async () => {
    const backend = await open();
    const count = 1_203;
    const jobs = Array.from({ length: count }, (_, i) => jobUpsert(`${i % 2 === 0 ? 'even' : ''}/j${String(i).padStart(5, '0')}`));
    const results = await backend.upsertJobs(jobs);
    expect(results.map((r) => r.key)).toEqual(jobs.map((j) => j.key));
    expect(results.every((r) => r.created)).toBe(true);
    const all = await backend.listJobs();
    expect(all).toHaveLength(count);
    expect(all.map((j) => j.key)).toEqual(jobs.map((j) => j.key).sort());
    expect((await backend.listJobs({ tenantId: 'even' })).length).toBe(602);
    expect((await backend.listJobs({ tenantId: '' })).length).toBe(601);

    const now = await backend.time();
    const runs = 2_100;
    await Promise.all(
      Array.from({ length: runs }, (_, i) =>
        backend.enqueueRun({ key: '/j00001', id: `r${i}`, kind: 'trigger', dueAt: now - 1, params: undefined, maxAttempts: 1 }),
      ),
    );
    for (;;) {
      const claimed = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 60_000, runIds: ids(500) })).runs;
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((run) => backend.finishRun(finishOf(run))));
    }
    await wait(5);
    expect(await backend.sweep({ retentionMs: 0, orphanTimeoutMs: 10 * MINUTE })).toEqual({ runsDeleted: runs, jobsDeleted: 0 });
  }, 30_000);

  it('compares slots with Redis time, not the caller clock (clock skew)', async () => {
    const backend = await open();
    await backend.upsertJobs([jobUpsert('/skew')]);
    const redisNow = await backend.time();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // This instance's clock runs an hour ahead: by it, the slot is long due.
      vi.setSystemTime(redisNow + 3_600_000);
      const slot = redisNow + 30 * MINUTE;
      expect(Date.now()).toBeGreaterThan(slot);
      const early = await backend.claimSlot(slotClaim('/skew', slot));
      expect(early.status).toBe('early');
      expect((early as { retryInMs: number }).retryInMs).toBeGreaterThan(29 * MINUTE);
      expect((await backend.getJob('/skew'))?.lastSlot).toBeNull();
      // Due by Redis time: claimed once, whatever the callers' clocks say.
      vi.setSystemTime(redisNow - 3_600_000);
      const due = redisNow - 1;
      const results = await Promise.all([backend.claimSlot(slotClaim('/skew', due)), backend.claimSlot(slotClaim('/skew', due))]);
      expect(results.map((r) => r.status).sort()).toEqual(['claimed', 'taken']);
    } finally {
      vi.useRealTimers();
    }
  });
});

async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const out = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) out.set(match[1]!, Number(match[2]));
  return out;
}
