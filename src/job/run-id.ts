import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

// uuid's own v7 asks the OS for 16 random bytes per id; the fire path makes
// thousands of ids a second, so the bytes come from a pool refilled once per
// 256 ids. Ids stay monotonic within a millisecond, as uuid's v7 makes them.
const POOL_BYTES = 4_096;
let pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;
let lastMs = -Infinity;
let seq = 0;

function random16(): Uint8Array {
  if (poolAt + 16 > POOL_BYTES) {
    // A fresh array each refill: ids already handed out keep their bytes.
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    poolAt = 0;
  }
  const bytes = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  return bytes;
}

/** A new uuid v7 run id (RFC 9562): time-ordered, unique. */
export function newRunId(): string {
  const random = random16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // A random start in the lower half of the 31-bit counter, like uuid's v7.
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq });
}
