import { NodeProcess } from '../../lib/processes.js';
import type { ScaleConfig, ScaleResult } from './protocol.js';

const SCRIPT = 'benchmarks/suites/scale/scale-instance.ts';
/**
 * Flags of the child's node: `gc()` for honest memory readings, and room for
 * a million jobs plus the transient garbage of registering them.
 * NodeProcess spawns `node --import tsx <script>`, so they go through
 * NODE_OPTIONS (both are allowed there); the child checks `gc` exists.
 */
const NODE_FLAGS = '--expose-gc --max-old-space-size=8192';

/** Runs one size in a fresh process and returns what it measured; the process is killed if it overruns. */
export async function runSize(label: string, config: ScaleConfig, timeoutMs: number): Promise<ScaleResult> {
  const nodeOptions = [process.env.NODE_OPTIONS, NODE_FLAGS].filter((o) => o !== undefined && o !== '').join(' ');
  const child = new NodeProcess(label, SCRIPT, { BENCH_CONFIG: JSON.stringify(config), NODE_OPTIONS: nodeOptions });
  try {
    const line = await child.waitForLine('result', {}, timeoutMs);
    const exit = await child.waitForExit(10_000);
    if (exit.code !== 0) throw child.failure(`exited with code ${exit.code}`);
    return line.result as ScaleResult;
  } finally {
    await child.kill();
  }
}
