import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { closestJob, editDistance } from '../../../src/scheduler/closest-name.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

const job = (name: string, tenantId?: string) => ({ name, tenantId });

describe('editDistance', () => {
  it.each([
    ['report', 'report', 0],
    ['repotr', 'report', 1], // adjacent swap
    ['reprt', 'report', 1], // deletion
    ['reportt', 'report', 1], // insertion
    ['rexort', 'report', 1], // substitution
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%j -> %j is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('stops early past its bound', () => {
    expect(editDistance('abcdefgh', 'zyxwvuts', 2)).toBe(3);
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
  });
});

describe('closestJob', () => {
  it('suggests within max(2, length / 3) edits only', () => {
    expect(closestJob('repotr', undefined, [job('cleanup'), job('report')])).toEqual(job('report'));
    expect(closestJob('rpt', undefined, [job('report')])).toBeUndefined(); // 3 edits, limit 2
    // 12 characters: up to 4 edits.
    expect(closestJob('send-invoice', undefined, [job('send-invoices-now')])).toBeUndefined();
    expect(closestJob('sendinvoce', undefined, [job('send-invoice')])).toEqual(job('send-invoice'));
    expect(closestJob('x', undefined, [])).toBeUndefined();
  });

  it('prefers the same tenant, then the closest in another', () => {
    const registered = [job('report', 'globex'), job('reports', 'acme')];
    expect(closestJob('report', 'acme', registered)).toEqual(job('reports', 'acme'));
    expect(closestJob('report', undefined, registered)).toEqual(job('report', 'globex'));
  });

  it('keeps the first of equally close names', () => {
    expect(closestJob('rep', undefined, [job('reps'), job('rip')])).toEqual(job('reps'));
  });
});

let world: World;
afterEach(async () => world?.stopAll());

describe('an unknown job names the closest registered one', () => {
  it('trigger of a mistyped name suggests the registered one', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'report', handler: () => undefined });
    await scheduler.register({ name: 'cleanup', handler: () => undefined });
    const error = await scheduler.trigger('repotr').catch((e: unknown) => e);
    expect(SchedkitError.is(error, 'E_JOB_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('job "repotr" is not registered on this scheduler; did you mean "report"?');
    expect((error as SchedkitError).details).toMatchObject({ name: 'repotr', suggestion: { name: 'report', tenantId: undefined } });
  });

  it('names the tenant when the closest job is in another tenant', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'invoice', tenantId: 'acme', handler: () => undefined });
    const error = await scheduler.trigger('invoice').catch((e: unknown) => e);
    expect((error as Error).message).toBe('job "invoice" is not registered on this scheduler; did you mean "acme/invoice"?');
  });

  it('suggests nothing when no name is close', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'report', handler: () => undefined });
    const error = await scheduler.trigger('cleanup').catch((e: unknown) => e);
    expect((error as Error).message).toBe('job "cleanup" is not registered on this scheduler');
    expect((error as SchedkitError).details).not.toHaveProperty('suggestion');
  });
});
