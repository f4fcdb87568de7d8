import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../helpers/redis-server.js';

const started: Array<RedisServer | RedisCluster> = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

describe('test harness: private redis-server processes', () => {
  it('starts a server on a free loopback port, pauses, resumes and stops it by pid', async () => {
    const server = await startRedis();
    started.push(server);
    const client = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    server.pause();
    const frozen = await Promise.race([client.ping().then(() => 'answered'), new Promise((r) => setTimeout(() => r('silent'), 300))]);
    expect(frozen).toBe('silent');
    server.resume();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it('requires the password and knows the ACL users it was given', async () => {
    const server = await startRedis({ password: 'sekret', aclUsers: ['user default on >sekret ~* &* +@all', 'user app on >apppass ~* &* +@all'] });
    started.push(server);
    const intruder = new Redis({ host: server.host, port: server.port, username: 'app', password: 'guess', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    intruder.on('error', () => {});
    await expect(intruder.connect().then(() => intruder.ping())).rejects.toThrow();
    intruder.disconnect();
    const app = new Redis({ host: server.host, port: server.port, username: 'app', password: 'apppass', lazyConnect: true });
    await app.connect();
    expect(await app.ping()).toBe('PONG');
    app.disconnect();
  });

  it('starts a three-master cluster with every slot served', async () => {
    const cluster = await startCluster(3);
    started.push(cluster);
    const client = new Cluster(cluster.startupNodes, { lazyConnect: true });
    await client.connect();
    await client.set('{tag}:a', '1');
    expect(await client.get('{tag}:a')).toBe('1');
    expect((await client.cluster('INFO')) as string).toContain('cluster_known_nodes:3');
    await client.quit();
  }, 60_000);
});
