import { messages } from '../../src/errors/messages.js';
import { ErrorCode, SchedkitError } from '../../src/errors/schedkit-error.js';
import type { JobDefinition, RunContext } from '../../src/job/job-definition.js';

/** What `@Scheduled` takes: a job definition without `handler` (the method) and with an optional `name`. */
export type ScheduledOptions = Omit<JobDefinition, 'handler' | 'name'> & {
  /** @default `<ClassName>.<methodName>` */
  name?: string;
};

/** One decorated method, as recorded by `@Scheduled`. */
export interface ScheduledMethod {
  /** The method's property key on the class prototype. */
  readonly method: string | symbol;
  /** The options given, with `name` filled in. */
  readonly options: Readonly<ScheduledOptions & { name: string }>;
}

// The registry the decorator writes and the explorer reads. Classes are held
// strongly in the Set, which is fine: decorated classes live as long as their module.
const methodsByClass = new WeakMap<Function, ScheduledMethod[]>();
const decoratedClasses = new Set<Function>();

/**
 * Marks a method as a scheduled job. It only records metadata; the
 * explorer (`exploreScheduled`) finds the decorated methods of classes bound
 * in a container, and the `App` registers them at start with `this` bound to
 * the resolved instance.
 *
 * Decorate instance methods of the class you bind (`container.bind(MyJobs).toSelf()`);
 * methods inherited from a decorated base class are found too.
 *
 * @example
 * class ReportJobs {
 *   constructor(@inject(TOKENS.Logger) private readonly logger: Logger) {}
 *
 *   @Scheduled({ schedule: '0 * * * *', timeoutMs: 60_000 })   // name: 'ReportJobs.hourly'
 *   async hourly(ctx: RunContext): Promise<void> {
 *     this.logger.info('report', { slot: ctx.scheduledAt });
 *   }
 * }
 * container.bind(ReportJobs).toSelf().inSingletonScope();
 */
export function Scheduled(options: ScheduledOptions) {
  return <M extends (ctx: RunContext<never>) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const className = typeof target === 'function' ? target.name : target.constructor.name;
    const methodName = String(propertyKey);
    if (typeof target === 'function') {
      throw new SchedkitError(ErrorCode.InvalidArgument, messages.scheduledOnStatic(className, methodName));
    }
    if (typeof descriptor.value !== 'function') {
      throw new SchedkitError(ErrorCode.InvalidArgument, messages.scheduledNotAMethod(className, methodName));
    }
    const cls = target.constructor;
    const entry: ScheduledMethod = {
      method: propertyKey,
      options: Object.freeze({ ...options, name: options.name ?? `${className}.${methodName}` }),
    };
    const list = methodsByClass.get(cls) ?? [];
    // Decorating the same method twice keeps the outermost (last applied) options.
    const kept = list.filter((m) => m.method !== propertyKey);
    kept.push(entry);
    methodsByClass.set(cls, kept);
    decoratedClasses.add(cls);
  };
}

/** The `@Scheduled` methods declared on `cls` itself (not inherited), in declaration order. */
export function getScheduledMethods(cls: Function): readonly ScheduledMethod[] {
  return methodsByClass.get(cls) ?? [];
}

/** Every class with at least one `@Scheduled` method, in the order they were decorated. */
export function scheduledClasses(): readonly Function[] {
  return [...decoratedClasses];
}
