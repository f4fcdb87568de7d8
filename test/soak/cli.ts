/**
 * `npm run soak -- --minutes N`: runs the soak (test/soak/soak.ts), prints
 * the ledger summary, exits 1 when a ledger check fails. Ctrl-C / SIGTERM
 * kill every process it started (by pid, through the exit handlers of
 * processes.ts and redis-server.ts).
 */
import { formatSummary, runSoak } from './soak.js';

const args = process.argv.slice(2);
const at = args.indexOf('--minutes');
const minutes = at === -1 ? 1 : Number(args[at + 1]);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
  console.error(`usage: npm run soak -- --minutes N   (got ${String(args[at + 1])})`);
  process.exit(2);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`soak: ${signal}, stopping`);
    process.exit(130); // the 'exit' handlers kill the instances and redis-server by pid
  });
}

const started = Date.now();
try {
  const summary = await runSoak({ minutes, log: (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`) });
  console.log(formatSummary(summary));
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(summary.ok ? 0 : 1);
} catch (error) {
  console.error('soak failed:', error);
  process.exit(1);
}
