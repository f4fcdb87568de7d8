import { afterEach, describe, expect, it } from 'vitest';
import { NodeProcess } from '../helpers/node-process.js';

// Clock timers are unref'd, so an idle scheduler never holds a process open.
// A stop is waited on (often by a top-level await) and must keep Node alive
// until it has finished; otherwise Node exits with 13 ("unsettled top-level
// await") in the middle of it. Each script runs in a real child process with
// nothing else alive and prints one JSON line per milestone.
describe('what keeps a process alive around a stop', () => {
  const children: NodeProcess[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });

  async function runToExit(script: string): Promise<NodeProcess> {
    const child = new NodeProcess(script, script);
    children.push(child);
    const exit = await child.waitForExit(15_000);
    if (exit.code !== 0) throw child.failure(`exited with code ${exit.code}`);
    return child;
  }

  it.each([
    ['await scheduler.stop()', 'test/integration/stop-scripts/scheduler-stop.ts'],
    ['await app.stop()', 'test/integration/stop-scripts/app-stop.ts'],
  ])('%s with a handler that never settles: aborts it with E_SHUTDOWN after shutdownTimeoutMs, resolves, Node exits 0', async (_, script) => {
    const child = await runToExit(script);

    expect(child.lines.map((l) => l.message)).toEqual(['stopping', 'handler aborted', 'stopped']);
    expect(child.find('handler aborted')[0]!.code).toBe('E_SHUTDOWN');
  });

  it('await app.stop() with a hook whose stop never settles: rejects at stopTimeoutMs, Node exits 0', async () => {
    const child = await runToExit('test/integration/stop-scripts/app-stop-hook.ts');

    expect(child.lines.map((l) => l.message)).toEqual(['stopping', 'stop failed']);
    expect(child.find('stop failed')[0]!.code).toBe('E_STOP_FAILED');
  });

  it('a started scheduler that is not stopping still lets Node exit', async () => {
    const child = await runToExit('test/integration/stop-scripts/idle-start.ts');

    expect(child.lines.map((l) => l.message)).toEqual(['started']);
  });
});
