import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

const started: PostgresServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

/** The real uid the process runs as (Linux: /proc/<pid>/status). */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line!.split(/\s+/)[1]);
}

/** An IPv4 address of this machine other than loopback, if it has one. */
function otherAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

describe('test harness: private PostgreSQL clusters', () => {
  it('starts a cluster on 127.0.0.1 only, as a non-root user, and stop() ends it by pid and deletes its directory', async () => {
    const server = await startPostgres();
    started.push(server);

    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect((await client.query<{ listen_addresses: string }>('SHOW listen_addresses')).rows[0]!.listen_addresses).toBe('127.0.0.1');
    await client.end();

    const other = otherAddress();
    if (other !== undefined) {
      const outsider = new pg.Client({ host: other, port: server.port, user: server.user, database: server.database, connectionTimeoutMillis: 2_000 });
      await expect(outsider.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }

    if (process.platform === 'linux') expect(uidOf(server.pid)).not.toBe(0);

    const fresh = await server.createDatabase('harness');
    const inFresh = new pg.Client({ connectionString: fresh.url });
    await inFresh.connect();
    expect((await inFresh.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db).toBe(fresh.database);
    await inFresh.end();

    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
    expect(existsSync(server.dir)).toBe(false);
  }, 60_000);
});
