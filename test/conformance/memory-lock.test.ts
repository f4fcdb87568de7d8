import { FakeClock } from '../../src/clock/fake-clock.js';
import { MemoryLock } from '../../src/lock/memory-lock.js';
import { describeLockConformance } from 'schedkit/backend';

// Through the public entry point, as a lock author would run it.
await describeLockConformance('memory', async () => {
  const clock = new FakeClock();
  return {
    lock: new MemoryLock({ clock }),
    advance: (ms) => clock.advance(ms),
    // A paused process: time jumps without timers firing, then the overdue ones run.
    freeze: async (ms) => {
      clock.set(clock.now() + ms);
      await clock.advance(0);
    },
    close: async () => {},
  };
});
