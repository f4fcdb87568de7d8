import { describe, expect, it } from 'vitest';
import { InMemoryMetrics, percentile, SampleRing } from '../../../src/observability/in-memory-metrics.js';
import type { MetricsCollector } from '../../../src/observability/metrics.js';

describe('InMemoryMetrics counters', () => {
  it('counts every method in total and, where a job is named, per job', () => {
    const metrics = new InMemoryMetrics();
    const collector: MetricsCollector = metrics; // implements the contract
    collector.runStarted('x', 'a');
    collector.runStarted('x', 'a');
    collector.runStarted('y', undefined);
    collector.runCompleted('x', 'a', 10);
    collector.runFailed('y', undefined);
    collector.runRetried('y', undefined);
    collector.runTimedOut('y', undefined);
    collector.runSkipped('x', 'a');
    collector.runStalled('x', 'a');
    collector.runAbandoned('y', undefined);
    collector.runCancelled('x', 'a');
    collector.fireLateness('x', 'a', 3);
    collector.lockAcquired(2);
    collector.lockContended();
    collector.lockContended();
    collector.lockLost();
    collector.rateLimitWait('platform:x', 5);

    expect(metrics.count('runStarted')).toBe(3);
    expect(metrics.count('runStarted', 'a/x')).toBe(2);
    expect(metrics.count('runStarted', 'y')).toBe(1);
    expect(metrics.count('runFailed', 'a/x')).toBe(0);
    expect(metrics.count('runStarted', 'unknown')).toBe(0);
    expect(metrics.count('lockContended')).toBe(2);
    expect(metrics.count('lockAcquired')).toBe(1);
    expect(metrics.count('lockLost')).toBe(1);
    expect(metrics.jobs()).toEqual(['a/x', 'y']);

    expect(metrics.snapshot().counters).toEqual({
      runStarted: 3,
      runCompleted: 1,
      runFailed: 1,
      runRetried: 1,
      runTimedOut: 1,
      runSkipped: 1,
      runStalled: 1,
      runAbandoned: 1,
      runCancelled: 1,
      lockAcquired: 1,
      lockContended: 2,
      lockLost: 1,
      fireLateness: 1,
      rateLimitWait: 1,
    });
    expect(metrics.snapshot().jobs).toEqual({
      'a/x': { runStarted: 2, runCompleted: 1, runSkipped: 1, runStalled: 1, runCancelled: 1, fireLateness: 1 },
      y: { runStarted: 1, runFailed: 1, runRetried: 1, runTimedOut: 1, runAbandoned: 1 },
    });
  });

  it('labels a job by its name alone without a tenant, and tenant/name with one', () => {
    const metrics = new InMemoryMetrics();
    metrics.runStarted('report', undefined);
    metrics.runStarted('report', 'acme');
    metrics.runStarted('report', 'acme');
    metrics.runStarted('report', 'globex');
    expect(metrics.jobs()).toEqual(['report', 'acme/report', 'globex/report']);
    expect(metrics.count('runStarted', 'report')).toBe(1);
    expect(metrics.count('runStarted', 'acme/report')).toBe(2);
    expect(metrics.count('runStarted', '/report')).toBe(0);
    expect(metrics.snapshot().jobs).toEqual({ report: { runStarted: 1 }, 'acme/report': { runStarted: 2 }, 'globex/report': { runStarted: 1 } });
  });

  it('keeps a job named __proto__ as data in the snapshot', () => {
    const metrics = new InMemoryMetrics();
    metrics.runStarted('__proto__', undefined);
    const jobs = metrics.snapshot().jobs;
    expect(Object.hasOwn(jobs, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(jobs)).toBe(Object.prototype);
  });
});

describe('InMemoryMetrics samples', () => {
  it('records lateness, durations and lock waits', () => {
    const metrics = new InMemoryMetrics();
    metrics.fireLateness('j', undefined, 5);
    metrics.fireLateness('j', undefined, 1);
    metrics.runCompleted('j', undefined, 120);
    metrics.lockAcquired(7);
    expect(metrics.lateness.values()).toEqual([5, 1]);
    expect(metrics.durations.values()).toEqual([120]);
    expect(metrics.lockWaits.values()).toEqual([7]);
  });

  it('bounds each series to maxSamples, keeping the newest', () => {
    const metrics = new InMemoryMetrics({ maxSamples: 3 });
    for (let i = 1; i <= 5; i++) metrics.fireLateness('j', undefined, i);
    expect(metrics.lateness.values()).toEqual([3, 4, 5]);
    expect(metrics.lateness.size).toBe(3);
    expect(metrics.lateness.total).toBe(5);
    expect(metrics.count('fireLateness')).toBe(5);
  });

  it('keeps 10,000 samples by default', () => {
    const metrics = new InMemoryMetrics();
    for (let i = 0; i < 10_005; i++) metrics.runCompleted('j', undefined, i);
    expect(metrics.durations.capacity).toBe(10_000);
    expect(metrics.durations.size).toBe(10_000);
    expect(metrics.durations.values()[0]).toBe(5);
  });

  it('counts non-finite samples but does not keep them', () => {
    const metrics = new InMemoryMetrics();
    metrics.fireLateness('j', undefined, Number.NaN);
    metrics.runCompleted('j', undefined, Number.POSITIVE_INFINITY);
    expect(metrics.count('fireLateness')).toBe(1);
    expect(metrics.count('runCompleted')).toBe(1);
    expect(metrics.lateness.size).toBe(0);
    expect(metrics.durations.size).toBe(0);
  });
});

describe('InMemoryMetrics.snapshot and reset', () => {
  it('summarises samples as plain numbers', () => {
    const metrics = new InMemoryMetrics();
    // Pushed out of order: the summary must not depend on arrival order.
    for (let i = 100; i >= 1; i--) metrics.fireLateness('j', undefined, i);
    const snapshot = metrics.snapshot();
    expect(snapshot.lateness).toEqual({ count: 100, min: 1, max: 100, mean: 50.5, p50: 50, p90: 90, p99: 99 });
    expect(snapshot.durations).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    // The ring itself keeps arrival order.
    expect(metrics.lateness.values()[0]).toBe(100);
  });

  it('returns a copy that later calls do not change', () => {
    const metrics = new InMemoryMetrics();
    metrics.runStarted('j', undefined);
    const before = metrics.snapshot();
    metrics.runStarted('j', undefined);
    metrics.fireLateness('j', undefined, 9);
    expect(before.counters.runStarted).toBe(1);
    expect(before.jobs.j).toEqual({ runStarted: 1 });
    expect(before.lateness.count).toBe(0);
  });

  it('reset clears every counter and sample', () => {
    const metrics = new InMemoryMetrics();
    metrics.runStarted('j', undefined);
    metrics.lockLost();
    metrics.fireLateness('j', undefined, 4);
    metrics.runCompleted('j', undefined, 4);
    metrics.lockAcquired(4);
    metrics.reset();
    const snapshot = metrics.snapshot();
    expect(Object.values(snapshot.counters).every((n) => n === 0)).toBe(true);
    expect(snapshot.jobs).toEqual({});
    expect(metrics.jobs()).toEqual([]);
    expect(metrics.lateness.total).toBe(0);
    expect(metrics.durations.size).toBe(0);
    expect(metrics.lockWaits.size).toBe(0);
    metrics.runStarted('j', undefined);
    expect(metrics.count('runStarted', 'j')).toBe(1);
  });
});

describe('percentile', () => {
  it('uses the nearest rank, so the result is always a sample', () => {
    const samples = [15, 20, 35, 40, 50];
    expect(percentile(samples, 0)).toBe(15);
    expect(percentile(samples, 5)).toBe(15);
    expect(percentile(samples, 30)).toBe(20);
    expect(percentile(samples, 40)).toBe(20);
    expect(percentile(samples, 50)).toBe(35);
    expect(percentile(samples, 100)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
  });

  it('does not modify its input', () => {
    const samples = [3, 1, 2];
    expect(percentile(samples, 50)).toBe(2);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('is NaN without samples and rejects p outside 0-100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('SampleRing', () => {
  it('wraps around and returns samples oldest first', () => {
    const ring = new SampleRing(4);
    for (let i = 1; i <= 10; i++) ring.push(i);
    expect(ring.values()).toEqual([7, 8, 9, 10]);
    ring.clear();
    expect(ring.values()).toEqual([]);
    ring.push(1.5);
    expect(ring.values()).toEqual([1.5]);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects capacity %d', (capacity) => {
    expect(() => new SampleRing(capacity)).toThrow(RangeError);
    expect(() => new InMemoryMetrics({ maxSamples: capacity })).toThrow(RangeError);
  });
});
