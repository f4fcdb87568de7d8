import { describe, expect, it } from 'vitest';
import { takeUnhandled } from '../../setup/fail-on-unhandled.js';

// The guard itself (test/setup/fail-on-unhandled.ts, a vitest setupFiles
// entry): its listeners record both kinds of event, which its afterEach then
// reports. Each test takes what it provoked, so the guard stays quiet here.
describe('unhandled error guard', () => {
  it('records an unhandled rejection with its error', async () => {
    const error = new Error('nobody awaited me');
    const rejected = Promise.reject(error);
    await new Promise((resolve) => setImmediate(resolve));
    const seen = takeUnhandled();
    rejected.catch(() => undefined);
    expect(seen).toEqual([{ kind: 'unhandledRejection', error }]);
  });

  it('records an uncaught exception', () => {
    const error = new Error('thrown from a callback');
    const emit = process.emit.bind(process) as (event: string, ...args: unknown[]) => boolean;
    emit('uncaughtException', error, 'uncaughtException');
    expect(takeUnhandled()).toEqual([{ kind: 'uncaughtException', error }]);
  });
});
