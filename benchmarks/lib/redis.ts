import { Redis } from 'ioredis';

export { startRedis, startMasters, randomPrefix, type RedisServer } from '../../test/helpers/redis-server.js';

/** Total calls per command from INFO commandstats (commands run inside scripts included). */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** What happened between two commandstats snapshots: calls per command, script calls sent, all commands executed. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): { byCommand: Record<string, number>; sent: number; executed: number } {
  const byCommand: Record<string, number> = {};
  for (const [name, calls] of after) {
    const diff = calls - (before.get(name) ?? 0);
    if (diff > 0 && name !== 'info') byCommand[name] = diff;
  }
  const executed = Object.values(byCommand).reduce((a, b) => a + b, 0);
  // Commands a client sends: script calls plus plain commands, not what scripts run inside.
  const sent = (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0) + (byCommand.fcall ?? 0);
  return { byCommand, sent, executed };
}

/** Redis server CPU seconds (user + sys) so far, from INFO cpu. */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN);
  return user + sys;
}

/**
 * The runs of a schedkit namespace that are pending in the store (due,
 * parked or waiting), as (job name, scheduled slot): what a stopped instance
 * left there to run later. Reads the key layout of
 * `src/backend/redis/keys.ts` directly: the Backend contract has no listing
 * of pending runs. Bounded: SCAN in pages, at most `max` runs.
 */
export async function pendingRuns(client: Redis, prefix: string, max = 1_000_000): Promise<Array<{ name: string; slot: number }>> {
  const ns = `{${prefix}}:`;
  const sets = [`${ns}pending`, ...(await scanKeys(client, `${ns}parked:*`)), ...(await scanKeys(client, `${ns}waiting:*`))];
  const out: Array<{ name: string; slot: number }> = [];
  for (const set of sets) {
    for (let from = 0; out.length < max; from += 1_000) {
      const members = await client.zrange(set, String(from), String(from + 999));
      if (members.length === 0) break;
      const pipeline = client.pipeline();
      // A member is `<16-digit sequence><job key>#<run id>`.
      for (const member of members) pipeline.hmget(`${ns}run:${member.slice(16)}`, 'kind', 'scheduledAt');
      const replies = (await pipeline.exec()) ?? [];
      members.forEach((member, i) => {
        const [kind, scheduledAt] = (replies[i]?.[1] as Array<string | null> | undefined) ?? [];
        if (kind !== 'slot' || scheduledAt == null) return;
        const key = member.slice(16, member.lastIndexOf('#'));
        out.push({ name: key.slice(key.indexOf('/') + 1), slot: Number(scheduledAt) });
      });
    }
  }
  return out;
}

async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let page = 0; page < 100_000; page++) {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', '1000');
    keys.push(...found);
    cursor = next;
    if (cursor === '0') break;
  }
  return keys;
}
