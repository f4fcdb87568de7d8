import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../../src/scheduler/concurrency-limiter.js';

describe('ConcurrencyLimiter', () => {
  it('hands freed permits to waiters in arrival order, a waiter asking to go first ahead of them', async () => {
    const limiter = new ConcurrencyLimiter(1);
    expect(limiter.tryAcquire()).toBe(true);
    const order: string[] = [];
    const wait = (name: string, first = false): Promise<void> => limiter.acquire(first).then((granted) => void order.push(`${name}:${granted}`));
    const all = [wait('a'), wait('b'), wait('claimed', true), wait('c')];
    for (let i = 0; i < 4; i++) {
      limiter.release();
      await Promise.resolve();
    }
    await Promise.all(all);
    expect(order).toEqual(['claimed:true', 'a:true', 'b:true', 'c:true']);
    expect(limiter.running).toBe(1);
  });

  it('whenIdle waits for every permit and every claim sent without one', async () => {
    const limiter = new ConcurrencyLimiter(2);
    expect(limiter.tryAcquire()).toBe(true);
    const done = limiter.claimWithoutPermit();
    let idle = false;
    const idled = limiter.whenIdle().then(() => (idle = true));
    limiter.release();
    await Promise.resolve();
    expect(idle).toBe(false);
    done();
    done();
    await idled;
    expect(idle).toBe(true);
    expect(limiter.running).toBe(0);
  });

  it('cancelWaiting turns every waiter away, including one asking to go first', async () => {
    const limiter = new ConcurrencyLimiter(1);
    expect(limiter.tryAcquire()).toBe(true);
    const answers = Promise.all([limiter.acquire(), limiter.acquire(true)]);
    limiter.cancelWaiting();
    expect(await answers).toEqual([false, false]);
  });
});
