/** Inputs per backend call, so one call never grows without bound (each is one Lua script on Redis). */
export const MAX_PER_CALL = 500;

interface Waiting<In, Out> {
  readonly input: In;
  readonly resolve: (output: Out) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the calls made in one turn of the event loop and sends them to a
 * batch method of the backend together (`claimSlots`, `finishRuns`,
 * `upsertJobs`): when a
 * thousand jobs share a second, their claims, and then their outcomes, cost
 * one round trip each instead of a thousand. Each caller still gets its own
 * answer (or the call's error).
 *
 * A turn ends at `setImmediate`, after every microtask and every I/O
 * callback of the loop's poll phase, not at the first microtask checkpoint:
 * callers of one wake reach the batcher at different promise depths (a
 * claim answered `taken` frees its permit at once, a run that was claimed
 * frees its permit only after its handler's awaits), and a microtask flush
 * would send those as separate calls. Split once, permits stay out of step
 * for good, each group cycling on its own, and under a backlog the batches
 * shrink towards one claim each: a round trip per run.
 */
export class CallBatcher<In, Out> {
  private waiting: Array<Waiting<In, Out>> = [];

  /**
   * `send` answers one output per input, in order, for at most `maxPerCall`
   * inputs at a time (batches beyond it are sent side by side).
   */
  constructor(
    private readonly what: string,
    private readonly send: (inputs: In[]) => Promise<Out[]>,
    private readonly maxPerCall: number = MAX_PER_CALL,
  ) {}

  call(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ input, resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (let from = 0; from < waiting.length; from += this.maxPerCall) {
      const batch = waiting.slice(from, from + this.maxPerCall);
      let sent: Promise<Out[]>;
      try {
        sent = this.send(batch.map((w) => w.input));
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        (outputs) => {
          if (outputs.length !== batch.length) {
            const error = new Error(`${this.what}: ${outputs.length} answers for ${batch.length} calls`);
            for (const w of batch) w.reject(error);
            return;
          }
          batch.forEach((w, i) => w.resolve(outputs[i]!));
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
    }
  }
}
