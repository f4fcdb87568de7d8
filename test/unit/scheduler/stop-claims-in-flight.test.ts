import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { interceptedBackend, type Interceptors } from '../../helpers/intercepted-backend.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/**
 * The backend's `method` calls wait at a gate until `open()`: a claim sent
 * just before a stop, answered after it began. Every call made after `closed`
 * is true is counted in `afterClose`.
 */
function gated(store: Backend, method: 'claimSlots' | 'claimDueRuns') {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let sent = 0;
  const state = { closed: false, afterClose: [] as string[] };
  const hold = (original: (...args: unknown[]) => Promise<unknown>, ...args: unknown[]): Promise<unknown> => {
    sent++;
    return gate.then(() => original(...args));
  };
  const backend = interceptedBackend(store, { [method]: hold } as Interceptors, (name) => {
    if (state.closed) state.afterClose.push(name);
  });
  return { backend, open, state, sent: () => sent };
}

/*
 * A stop drains runs in flight (SPEC §3). A claim already sent when the stop
 * begins is part of that: if the backend gives this instance the run, the
 * run is drained with the others, its outcome recorded before `stop()`
 * resolves — not started afterwards, when its outcome would meet a closed
 * backend and the run would sit active until reaped as stalled elsewhere.
 */
describe('stop with a claim still being answered', () => {
  it('a slot claim answered after the stop began runs and is recorded before stop() resolves', async () => {
    world = createWorld();
    const store = gated(world.backend, 'claimSlots');
    const a = world.instance({ instanceId: 'a', lockTtlMs: 30_000 }, { backend: store.backend });
    const ran: number[] = [];
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => void ran.push(ctx.scheduledAt.getTime()) });
    await a.scheduler.start();
    await world.clock.advance(1_000);
    const claims = store.sent();
    expect(claims).toBeGreaterThanOrEqual(1);
    expect(ran).toEqual([]);

    let stopped = false;
    const stopping = a.scheduler.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    store.open();
    await stopping;
    store.state.closed = true;

    // Nothing of the stopped instance reaches the backend afterwards.
    await world.clock.advance(60_000);
    expect(store.state.afterClose).toEqual([]);
    // Every slot the backend gave this instance ran, and its outcome is stored; nothing is left active.
    expect(ran).toHaveLength(claims);
    expect((await world.backend.listRuns({ state: 'running', limit: 100 })).runs).toEqual([]);
    const b = world.instance({ instanceId: 'b' });
    await b.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: () => undefined });
    expect((await b.scheduler.history('tick')).map((h) => [h.scheduledAt.getTime(), h.outcome]).sort()).toEqual(ran.map((slot) => [slot, 'success']).sort());
    expect(a.logger.entries.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
  });

  it('a one-off claim answered after the stop began runs and is recorded before stop() resolves', async () => {
    world = createWorld();
    const store = gated(world.backend, 'claimDueRuns');
    const a = world.instance({ instanceId: 'a', lockTtlMs: 30_000, pollIntervalMs: 1_000 }, { backend: store.backend });
    const ran: string[] = [];
    await a.scheduler.register({ name: 'export', handler: (ctx) => void ran.push(ctx.id) });
    await a.scheduler.start();
    await a.scheduler.trigger('export', { id: 'e-1' });
    await world.clock.advance(1_000);
    expect(store.sent()).toBeGreaterThanOrEqual(1);
    expect(ran).toEqual([]);

    const stopping = a.scheduler.stop();
    await new Promise((resolve) => setImmediate(resolve));
    store.open();
    await stopping;
    store.state.closed = true;

    // Nothing of the stopped instance reaches the backend afterwards.
    await world.clock.advance(60_000);
    expect(store.state.afterClose).toEqual([]);
    expect(ran).toEqual(['e-1']);
    expect((await a.scheduler.history('export')).map((h) => [h.id, h.outcome])).toEqual([['e-1', 'success']]);
    expect(a.logger.entries.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
  });
});
