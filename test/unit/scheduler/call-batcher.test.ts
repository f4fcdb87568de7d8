import { describe, expect, it } from 'vitest';
import { CallBatcher, MAX_PER_CALL } from '../../../src/scheduler/call-batcher.js';

describe('CallBatcher', () => {
  it('sends the calls of one turn in one batch, in order, and answers each caller', async () => {
    const sent: number[][] = [];
    const batcher = new CallBatcher<number, string>('double', async (inputs) => {
      sent.push(inputs);
      return inputs.map((n) => `${n * 2}`);
    });
    const answers = await Promise.all([1, 2, 3].map((n) => batcher.call(n)));
    expect(answers).toEqual(['2', '4', '6']);
    expect(sent).toEqual([[1, 2, 3]]);
    // A later turn is a new batch.
    expect(await batcher.call(4)).toBe('8');
    expect(sent).toEqual([[1, 2, 3], [4]]);
  });

  it('gathers calls made from continuations of the same turn', async () => {
    const sizes: number[] = [];
    const batcher = new CallBatcher<number, number>('echo', async (inputs) => {
      sizes.push(inputs.length);
      return inputs;
    });
    // Each caller awaits something already resolved first, as a run does before its claim.
    const calls = Array.from({ length: 50 }, async (_, i) => {
      await Promise.resolve();
      return batcher.call(i);
    });
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(sizes).toEqual([50]);
  });

  it('gathers calls made at different promise depths of one turn, as a wake\'s taken claims and finished runs are', async () => {
    const sizes: number[] = [];
    const batcher = new CallBatcher<number, number>('echo', async (inputs) => {
      sizes.push(inputs.length);
      return inputs;
    });
    // Caller i first goes through i awaits: a claim answered `taken` calls again at once, a run only after its handler's awaits.
    const calls = Array.from({ length: 20 }, async (_, i) => {
      for (let hop = 0; hop < i; hop++) await Promise.resolve();
      return batcher.call(i);
    });
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(sizes).toEqual([20]);
  });

  it(`splits a turn into calls of at most ${MAX_PER_CALL}`, async () => {
    const sizes: number[] = [];
    const batcher = new CallBatcher<number, number>('echo', async (inputs) => {
      sizes.push(inputs.length);
      return inputs;
    });
    const n = MAX_PER_CALL * 2 + 3;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => batcher.call(i)));
    expect(answers).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(sizes).toEqual([MAX_PER_CALL, MAX_PER_CALL, 3]);
  });

  it('rejects every caller of a batch whose call fails, synchronously or not, and only that batch', async () => {
    let calls = 0;
    const batcher = new CallBatcher<number, number>('flaky', (inputs) => {
      calls++;
      if (calls === 1) throw new Error('down');
      if (calls === 2) return Promise.reject(new Error('still down'));
      return Promise.resolve(inputs);
    });
    const first = await Promise.allSettled([batcher.call(1), batcher.call(2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((first[0] as PromiseRejectedResult).reason).toMatchObject({ message: 'down' });
    await expect(batcher.call(3)).rejects.toThrow('still down');
    expect(await batcher.call(4)).toBe(4);
  });

  it('rejects every caller when the answers do not match the calls', async () => {
    const batcher = new CallBatcher<number, number>('short', async (inputs) => inputs.slice(1));
    const results = await Promise.allSettled([batcher.call(1), batcher.call(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe('short: 1 answers for 2 calls');
  });
});
