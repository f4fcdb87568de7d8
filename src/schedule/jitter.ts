/**
 * Schedule jitter: how far after its slot a job's slot is claimed. Derived
 * from (job key, slot) alone, so every instance computes the same offset
 * without talking to the others, and jobs that share a cron time spread over
 * the window instead of starting at one instant.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The offset in [0, jitterMs) (whole ms) of `slot` of job `jobKey`: FNV-1a
 * (32 bit) of `${jobKey}|${slot}`, its bits mixed (murmur3's finaliser: FNV's
 * low bits alone follow the last characters, which for consecutive slots
 * differ little), modulo `jitterMs`. 0 when `jitterMs` is 0.
 * Stable across processes, versions of Node and platforms (no Math.random, no
 * locale): it is part of when a slot runs, which every instance must agree on.
 */
export function jitterOffset(jobKey: string, slot: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const text = `${jobKey}|${slot}`;
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % jitterMs;
}
