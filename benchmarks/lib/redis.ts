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
