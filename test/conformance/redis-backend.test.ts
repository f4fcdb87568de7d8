import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { randomPrefix, startCluster, startRedis, type RedisCluster, type RedisServer } from '../helpers/redis-server.js';
import { describeBackendConformance } from '../../src/conformance/backend-conformance.js';
import type { BackendHarness } from '../../src/conformance/harness.js';
import { describeHeldRunsConformance } from '../../src/conformance/held-runs-conformance.js';

/**
 * The backend contract on real Redis: once against a standalone server and
 * once against a three-master Cluster, each started once for this file. Every
 * test gets its own key prefix; `advance(ms)` is a real wait (Redis `TIME`
 * cannot be faked).
 */

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Deletes every key of a prefix (on every master of a Cluster). */
async function deletePrefix(admin: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = admin instanceof Cluster ? admin.nodes('master') : [admin];
  await Promise.all(
    nodes.map(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await node.del(...keys);
      } while (cursor !== '0');
    }),
  );
}

function harnessFor(connection: () => RedisConnection, admin: () => Redis | Cluster): () => Promise<BackendHarness> {
  return async () => {
    const prefix = randomPrefix('conf');
    const backend = new RedisBackend({ connection: connection(), prefix });
    await backend.connect();
    return {
      backend,
      advance: wait,
      close: async () => {
        await backend.close();
        await deletePrefix(admin(), prefix);
      },
    };
  };
}

let server: RedisServer;
let serverAdmin: Redis;
let cluster: RedisCluster;
let clusterAdmin: Cluster;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startCluster(3)]);
  serverAdmin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  clusterAdmin = new Cluster(cluster.startupNodes, { lazyConnect: true });
  await Promise.all([serverAdmin.connect(), clusterAdmin.connect()]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([serverAdmin?.quit(), clusterAdmin?.quit()]);
  await Promise.allSettled([server?.stop(), cluster?.stop()]);
});

describeBackendConformance(
  'redis (standalone)',
  harnessFor(
    () => ({ url: server.url }),
    () => serverAdmin,
  ),
);

describeBackendConformance(
  'redis (cluster of 3 masters)',
  harnessFor(
    () => ({ cluster: cluster.startupNodes }),
    () => clusterAdmin,
  ),
);

describeHeldRunsConformance(
  'redis (standalone)',
  harnessFor(
    () => ({ url: server.url }),
    () => serverAdmin,
  ),
);

describeHeldRunsConformance(
  'redis (cluster of 3 masters)',
  harnessFor(
    () => ({ cluster: cluster.startupNodes }),
    () => clusterAdmin,
  ),
);
