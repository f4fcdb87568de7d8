import { EventEmitter } from 'node:events';
import { Container } from 'inversify';
import { Registry } from 'prom-client';
import { prometheusMetricsModule } from 'schedkit/prometheus';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../modules/app.js';
import { memoryBackendModule } from '../../modules/memory-backend.module.js';
import { schedulerModule } from '../../modules/scheduler.module.js';
import { TOKENS, type JobRegistrar } from '../../modules/tokens.js';
import type { Logger } from '../../src/observability/logger.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { until } from '../helpers/fixtures.js';

/** One sample line of the text exposition format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses prom-client's text output: `# TYPE` lines and samples (label values without escapes, as ours are). */
function parse(text: string): { types: Map<string, string>; help: Set<string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const help = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
    } else if (line.startsWith('# HELP ')) {
      help.add(line.split(' ')[2]!);
    } else if (line.trim() !== '') {
      const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').match(/[a-z_]+="[^"]*"/g) ?? []) {
        const at = pair.indexOf('=');
        labels[pair.slice(0, at)] = pair.slice(at + 2, -1);
      }
      samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    }
  }
  return { types, help, samples };
}

const running: App[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

describe('prometheusMetricsModule', () => {
  it('exposes the SPEC §15 metrics with their types, units and bounded labels after real runs', async () => {
    const registry = new Registry();
    const container = new Container();
    container.load(schedulerModule({ pollIntervalMs: 100 }), memoryBackendModule(), prometheusMetricsModule({ registry }));
    container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
      async register(scheduler) {
        await scheduler.register({ name: 'ok', tenantId: 'acme', handler: () => {} });
        await scheduler.register({ name: 'boom', retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 10 }, handler: () => Promise.reject(new Error('no')) });
        // Every second, each run held until released: the slots meanwhile are skipped by overlap.
        await scheduler.register({ name: 'held', schedule: '* * * * * *', overlap: 'skip', handler: () => held });
      },
    });
    const app = new App(container, { signals: new EventEmitter(), exit: vi.fn() });
    running.push(app);
    await app.start();
    const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
    const done: string[] = [];
    scheduler.on('run:success', (e) => done.push(`${e.name}:success`));
    scheduler.on('run:failure', (e) => done.push(`${e.name}:failure`));
    let skipped = 0;
    scheduler.on('run:skipped', () => skipped++);
    await scheduler.trigger('ok', { tenantId: 'acme' });
    await scheduler.trigger('boom');
    await until('ok succeeded and boom failed twice', () => done.includes('ok:success') && done.filter((d) => d === 'boom:failure').length === 2, 10_000);
    await until('a held slot skipped', () => skipped >= 1, 10_000);

    const before = parse(await registry.metrics());
    expect(before.samples.find((s) => s.name === 'schedkit_runs_in_progress' && s.labels.job === 'held')?.value).toBe(1);
    release();
    await until('held succeeded', () => done.includes('held:success'), 10_000);
    const scrapedAt = Date.now() / 1000;
    const { types, help, samples } = parse(await registry.metrics());

    expect(Object.fromEntries(types)).toEqual({
      schedkit_runs_total: 'counter',
      schedkit_run_duration_seconds: 'histogram',
      schedkit_schedule_delay_seconds: 'histogram',
      schedkit_runs_in_progress: 'gauge',
      schedkit_skipped_runs_total: 'counter',
      schedkit_retries_total: 'counter',
      schedkit_lock_lost_total: 'counter',
      schedkit_last_success_timestamp_seconds: 'gauge',
      schedkit_next_run_timestamp_seconds: 'gauge',
      schedkit_backend_errors_total: 'counter',
    });
    for (const name of types.keys()) expect(help.has(name), name).toBe(true);

    const value = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('schedkit_runs_total', { job: 'ok', tenant: 'acme', outcome: 'success' })).toBe(1);
    expect(value('schedkit_runs_total', { job: 'boom', tenant: '', outcome: 'failed' })).toBe(2);
    expect(value('schedkit_retries_total', { job: 'boom' })).toBe(1);
    expect(value('schedkit_skipped_runs_total', { job: 'held', reason: 'overlap' })).toBeGreaterThanOrEqual(1);
    expect(value('schedkit_run_duration_seconds_count', { job: 'boom' })).toBe(2);
    // Only first attempts count toward the delay: boom's retry does not.
    expect(value('schedkit_schedule_delay_seconds_count', { job: 'boom' })).toBe(1);
    expect(value('schedkit_runs_in_progress', { job: 'held' })).toBe(0);
    expect(value('schedkit_backend_errors_total', { backend: 'memory' })).toBe(0);
    // Timestamps in seconds: the last success just now, the next held slot within the coming second or two.
    const lastSuccess = value('schedkit_last_success_timestamp_seconds', { job: 'held' })!;
    expect(lastSuccess).toBeGreaterThan(scrapedAt - 10);
    expect(lastSuccess).toBeLessThanOrEqual(scrapedAt + 1);
    const next = value('schedkit_next_run_timestamp_seconds', { job: 'held' })!;
    expect(next).toBeGreaterThan(scrapedAt - 1);
    expect(next).toBeLessThan(scrapedAt + 3);
    expect(Number.isInteger(next)).toBe(true);
    // A one-off job has no next run.
    expect(value('schedkit_next_run_timestamp_seconds', { job: 'ok' })).toBeUndefined();

    // Label bounds: only these names, and no run id or instance id anywhere.
    const allowed = new Set(['job', 'tenant', 'outcome', 'reason', 'backend', 'le']);
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    for (const sample of samples) {
      for (const [label, text] of Object.entries(sample.labels)) {
        expect(allowed.has(label), `${sample.name} label ${label}`).toBe(true);
        expect(text).not.toMatch(uuid);
        expect(text).not.toContain(scheduler.instanceId);
      }
    }
  }, 30_000);

  it('counts two schedulers into one registry without registering a name twice, and refuses a bad option', async () => {
    const registry = new Registry();
    const apps = [0, 1].map(() => {
      const container = new Container();
      container.load(schedulerModule(), memoryBackendModule(), prometheusMetricsModule({ registry }));
      container.rebind<Logger>(TOKENS.Logger).toConstantValue(new RecordingLogger());
      return { container, app: new App(container, { signals: new EventEmitter(), exit: vi.fn() }) };
    });
    running.push(...apps.map((a) => a.app));
    for (const { app } of apps) await app.start();
    const ran: string[] = [];
    for (const [i, { container }] of apps.entries()) {
      const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
      scheduler.on('run:success', (e) => ran.push(e.name));
      await scheduler.register({ name: 'same', handler: () => {} });
      await scheduler.trigger('same', { id: `run-${i}` });
    }
    await until('both ran', () => ran.length === 2, 10_000);
    const { samples } = parse(await registry.metrics());
    expect(samples.find((s) => s.name === 'schedkit_runs_total' && s.labels.job === 'same')?.value).toBe(2);

    expect(() => prometheusMetricsModule({ registry: {} as Registry })).toThrow(/registry must be a prom-client Registry/);
    expect(() => prometheusMetricsModule({ port: 9464 } as never)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
