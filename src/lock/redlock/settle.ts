/** The outcome of one call to one master. */
export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Never rejects: the outcome becomes a value (so a slow or dead master can be waited on, or not, without an unhandled rejection). */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** What is known so far about calls made to every master: `undefined` while a call is pending. */
export type Snapshot<T> = ReadonlyArray<Settled<T> | undefined>;

/**
 * Resolves with the outcomes known so far as soon as `enough` holds for them,
 * or once every call has settled. A quorum operation waits for the replies it
 * needs, not for the slowest master (a paused master answers only when its
 * command times out).
 */
export function gather<T>(calls: ReadonlyArray<Promise<Settled<T>>>, enough: (snapshot: Snapshot<T>) => boolean): Promise<Snapshot<T>> {
  const snapshot: Array<Settled<T> | undefined> = calls.map(() => undefined);
  return new Promise((resolve) => {
    let pending = calls.length;
    const check = (): void => {
      if (pending === 0 || enough(snapshot)) resolve(snapshot.slice());
    };
    calls.forEach((call, index) => {
      void call.then((outcome) => {
        snapshot[index] = outcome;
        pending--;
        check();
      });
    });
    check();
  });
}

/** How many known outcomes pass `test`. */
export function count<T>(snapshot: Snapshot<T>, test: (value: T) => boolean = () => true): number {
  let n = 0;
  for (const outcome of snapshot) if (outcome?.ok === true && test(outcome.value)) n++;
  return n;
}
