import type { Backend } from '../../src/backend/backend.js';

/** Replacements for some of a backend's methods: each is given the store's own method (bound) and the call's arguments. */
export type Interceptors = {
  [K in keyof Backend]?: Backend[K] extends (...args: infer A) => infer R ? (original: (...args: A) => R, ...args: A) => R : never;
};

/**
 * `store` seen through `interceptors`: a listed method runs its interceptor,
 * every other call goes straight to the store. `onCall` hears the name of
 * every method called, intercepted or not.
 */
export function interceptedBackend(store: Backend, interceptors: Interceptors, onCall?: (method: string) => void): Backend {
  const byName = interceptors as Record<string | symbol, ((original: unknown, ...args: unknown[]) => unknown) | undefined>;
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      const original = (value as (...args: unknown[]) => unknown).bind(target);
      const intercept = byName[prop];
      return (...args: unknown[]) => {
        onCall?.(String(prop));
        return intercept === undefined ? original(...args) : intercept(original, ...args);
      };
    },
  });
}
