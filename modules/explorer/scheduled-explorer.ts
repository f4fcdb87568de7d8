import type { Container, Newable } from 'inversify';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { getScheduledMethods, scheduledClasses, type ScheduledMethod } from '../decorators/scheduled.js';

/** A `@Scheduled` method of a resolved provider, ready to register. */
export interface FoundScheduled {
  /** The provider resolved from the container. */
  readonly instance: object;
  readonly method: string | symbol;
  /** The decorator's options, `name` filled in. */
  readonly options: ScheduledMethod['options'];
}

/**
 * Finds the `@Scheduled` methods of every decorated class that is bound in
 * `container` (by the class itself: `container.bind(MyJobs).toSelf()`),
 * resolving each such class once with `container.get(cls)`. Decorated
 * classes that are not bound are ignored. Methods declared on decorated base
 * classes are included; a subclass's decoration of the same method wins.
 *
 * @example
 * const found = exploreScheduled(container);
 * await registerScheduled(container.get(TOKENS.Scheduler), found);
 */
export function exploreScheduled(container: Pick<Container, 'isBound' | 'get'>): FoundScheduled[] {
  const found: FoundScheduled[] = [];
  for (const cls of scheduledClasses()) {
    const id = cls as Newable<object>;
    if (!container.isBound(id)) continue;
    const instance = container.get<object>(id);
    const seen = new Set<string | symbol>();
    // Own methods first, then each ancestor's, skipping keys already taken.
    for (let current: unknown = cls; typeof current === 'function' && current !== Function.prototype; current = Object.getPrototypeOf(current)) {
      for (const { method, options } of getScheduledMethods(current as Function)) {
        if (seen.has(method)) continue;
        seen.add(method);
        found.push({ instance, method, options });
      }
    }
  }
  return found;
}

/**
 * Registers each found method as a job: `scheduler.register({ ...options,
 * name, handler })`, where the handler calls the method with `this` bound to
 * its instance. Registers one after another, in order; the first failure
 * (bad schedule, duplicate name) rejects.
 */
export async function registerScheduled(scheduler: Pick<Scheduler, 'register'>, found: readonly FoundScheduled[]): Promise<void> {
  for (const { instance, method, options } of found) {
    const target = instance as Record<string | symbol, (ctx: unknown) => unknown>;
    await scheduler.register({ ...options, name: options.name, handler: (ctx) => target[method]!.call(instance, ctx) });
  }
}
