import { messages } from '../errors/messages.js';

/**
 * The stall error text split around the instance id and the overdue ms, so a
 * script in the store (Lua, plpgsql) writes exactly
 * `messages.runStalled(instanceId, overdueMs)` by joining the parts with the
 * two values it knows: `before + instanceId + between + overdueMs + after`.
 */
export function stalledTextParts(): [string, string, string] {
  const instance = '\u0000instance\u0000';
  const overdue = -123456.789;
  const full = messages.runStalled(instance, overdue);
  const i = full.indexOf(instance);
  const o = full.indexOf(String(overdue), i + instance.length);
  if (i < 0 || o < 0) return ['instance "', '" stopped heartbeating: the lease had expired ', ' ms before it was reaped'];
  return [full.slice(0, i), full.slice(i + instance.length, o), full.slice(o + String(overdue).length)];
}
