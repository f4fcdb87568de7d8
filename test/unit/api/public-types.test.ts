import 'reflect-metadata';
import { Container } from 'inversify';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { Scheduler, TOKENS, schedulerModule, type Backend, type JobDefinition, type Logger, type RunContext } from 'schedkit';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

// The compile-time half of these checks runs in `npm run typecheck` (the
// `@ts-expect-error` lines fail the type check when the error they expect
// goes away); the runtime half shows the typed handle really triggers.

interface Post {
  postId: string;
  text: string;
}

let world: World | undefined;
afterEach(async () => world?.stopAll());

function scheduler(): Scheduler {
  world = createWorld();
  return world.instance().scheduler;
}

describe('types a user touches', () => {
  it('ties params to the handler: an interface works, wrong or missing params do not compile', async () => {
    const s = scheduler();
    const publish = await s.register({ name: 'publish', handler: (ctx: RunContext<Post>) => ctx.params.text });
    expectTypeOf(publish.trigger).parameter(0).toEqualTypeOf<{ params?: Post; at?: Date | string; id?: string } | undefined>();

    await s.register({ name: 'digest', schedule: '0 6 * * *', params: { postId: 'p', text: 't' }, handler: (ctx: RunContext<Post>) => ctx.params.postId });
    // @ts-expect-error a scheduled job whose handler needs params must give them
    await expect(s.register({ name: 'digest-2', schedule: '0 6 * * *', handler: (ctx: RunContext<Post>) => ctx.params.postId })).resolves.toBeDefined();
    // @ts-expect-error params of the wrong shape
    const wrong: JobDefinition<Post> = { name: 'wrong', schedule: '0 6 * * *', params: { postId: 1 }, handler: () => {} };
    expect(wrong.name).toBe('wrong');
    // @ts-expect-error a trigger of a known job checks its params
    await expect(publish.trigger({ params: { nope: true } })).resolves.toBeDefined();

    const optional = await s.register({ name: 'maybe', schedule: '0 6 * * *', handler: (ctx: RunContext<Post | undefined>) => ctx.params?.text });
    expectTypeOf(optional.name).toBeString();
  });

  it('the handle triggers its own job with typed params', async () => {
    const s = scheduler();
    const seen: Post[] = [];
    const publish = await s.register({ name: 'publish', tenantId: 'acme', handler: (ctx: RunContext<Post>) => void seen.push(ctx.params) });
    await s.start();
    const run = await publish.trigger({ params: { postId: 'p1', text: 'hello' }, id: 'once' });
    expect(run).toMatchObject({ id: 'once', name: 'publish', tenantId: 'acme', created: true });
    const again = await s.trigger<Post>('publish', { tenantId: 'acme', params: { postId: 'p1', text: 'hello' }, id: 'once' });
    expect(again.created).toBe(false);
  });

  it('types the container tokens', async () => {
    const container = new Container();
    await container.load(schedulerModule());
    expectTypeOf(container.get(TOKENS.Scheduler)).toEqualTypeOf<Scheduler>();
    expectTypeOf(container.get(TOKENS.Backend)).toEqualTypeOf<Backend>();
    expectTypeOf(container.get(TOKENS.Logger)).toEqualTypeOf<Logger>();
    // @ts-expect-error a constant of the wrong type cannot be bound to a token
    container.rebind(TOKENS.Logger).toConstantValue({ info: 1 });
    expect(container.get(TOKENS.Scheduler)).toBeInstanceOf(Scheduler);
    const tokenValue: symbol = TOKENS.Scheduler;
    expect(tokenValue).toBe(Symbol.for('schedkit/Scheduler'));
  });

  it('passes the tenant one way: a bare string is refused at run time too', async () => {
    const s = scheduler();
    await s.register({ name: 'report', tenantId: 'acme', handler: () => {} });
    // @ts-expect-error the tenant goes in { tenantId }
    await expect(s.getJob('report', 'acme')).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(await s.getJob('report', { tenantId: 'acme' })).toMatchObject({ name: 'report', tenantId: 'acme' });
    expect('unregister' in s).toBe(false);
  });
});
