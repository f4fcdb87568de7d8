/**
 * Three instances of examples/cluster/main.ts on one private Redis, for
 * 12 seconds once all three run: `npx tsx examples/cluster/demo.ts` (needs `redis-server`
 * on PATH). Prints who ran each slot, then stops everything and checks that
 * no slot ran twice.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runFleet } from './fleet.js';

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
redis.once('error', () => {
  console.error('redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server) and run again.');
  process.exit(1);
});
await sleep(300);
console.log(`Redis on 127.0.0.1:${port}`);
const code = await runFleet(new URL('./main.ts', import.meta.url), { SCHEDKIT_REDIS_URL: `redis://127.0.0.1:${port}` }, () => redis.kill('SIGTERM'));
process.exit(code);

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}
