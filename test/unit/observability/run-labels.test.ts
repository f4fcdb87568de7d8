import { afterEach, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../../src/observability/logger.js';
import { definedFields, withoutUndefinedFields } from '../../../src/observability/logger.js';
import { RecordingLogger } from '../../../src/observability/recording-logger.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/** Every field name that reached the logger with the value undefined. */
function undefinedFields(logger: RecordingLogger): string[] {
  return logger.entries.flatMap((entry) => Object.entries(entry.fields).filter(([, v]) => v === undefined).map(([k]) => `${entry.message}: ${k}`));
}

describe('log fields never hold undefined', () => {
  it('definedFields returns the same object when nothing is undefined, a copy without them otherwise', () => {
    const clean: LogFields = { job: 'x', n: 0, empty: null };
    expect(definedFields(clean)).toBe(clean);
    const dirty: LogFields = { job: 'x', tenantId: undefined };
    expect(definedFields(dirty)).toEqual({ job: 'x' });
    expect(Object.keys(definedFields(dirty))).toEqual(['job']);
    expect(dirty).toHaveProperty('tenantId'); // the caller's object is left alone
    // A field named __proto__ stays a field of the copy; it does not become its prototype.
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "gone": null}') as LogFields;
    proto.gone = undefined;
    const copy = definedFields(proto);
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('withoutUndefinedFields strips every level and every child, and wraps only once', () => {
    const seen: Array<[string, LogFields | undefined]> = [];
    const custom: Logger = {
      debug: (m, f) => seen.push([m, f]),
      info: (m, f) => seen.push([m, f]),
      warn: (m, f) => seen.push([m, f]),
      error: (m, f) => seen.push([m, f]),
      child: () => custom,
    };
    const logger = withoutUndefinedFields(custom);
    expect(withoutUndefinedFields(logger)).toBe(logger);
    logger.debug('d', { a: undefined });
    logger.info('i', { a: 1, b: undefined });
    logger.warn('w');
    logger.child({ c: undefined }).error('e', { d: undefined });
    expect(seen).toEqual([
      ['d', {}],
      ['i', { a: 1 }],
      ['w', undefined],
      ['e', {}],
    ]);
  });

  it('a job without a tenant logs no tenantId, in its run logger and in the scheduler logs', async () => {
    world = createWorld();
    const { scheduler, logger } = world.instance();
    await scheduler.register({
      name: 'tick',
      schedule: '* * * * * *',
      handler: (ctx) => {
        ctx.logger.info('from the handler');
        throw new Error('boom');
      },
    });
    await scheduler.start();
    await world.clock.advance(2_500);
    const fromHandler = logger.find('from the handler');
    expect(fromHandler.length).toBeGreaterThan(0);
    expect(fromHandler[0]!.fields).toMatchObject({ job: 'tick' });
    expect(fromHandler[0]!.fields).not.toHaveProperty('tenantId');
    expect(logger.find('run failed').length).toBeGreaterThan(0);
    expect(undefinedFields(logger)).toEqual([]);
  });

  it('a job with a tenant keeps its tenantId', async () => {
    world = createWorld();
    const { scheduler, logger } = world.instance();
    await scheduler.register({ name: 'tick', tenantId: 'acme', schedule: '* * * * * *', handler: (ctx) => ctx.logger.info('from the handler') });
    await scheduler.start();
    await world.clock.advance(1_500);
    expect(logger.find('from the handler')[0]!.fields).toMatchObject({ job: 'tick', tenantId: 'acme' });
  });
});

describe('metric labels', () => {
  it('are the job name and the tenant, given apart: no "/tick" for a job without a tenant', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    await scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: () => undefined });
    await scheduler.register({ name: 'tick', tenantId: 'acme', schedule: '* * * * * *', handler: () => undefined });
    await scheduler.start();
    await world.clock.advance(2_500);
    expect(metrics.jobs().sort()).toEqual(['acme/tick', 'tick']);
    expect(metrics.count('runCompleted', 'tick')).toBeGreaterThanOrEqual(2);
    expect(metrics.count('fireLateness', 'tick')).toBe(metrics.count('runStarted', 'tick'));
    expect(metrics.count('runCompleted', 'acme/tick')).toBe(metrics.count('runCompleted', 'tick'));
    expect(metrics.count('runCompleted', '/tick')).toBe(0);
  });
});
