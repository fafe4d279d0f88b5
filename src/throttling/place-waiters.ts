/** One attempt waiting for a place (see PlaceWaiters.join). */
export interface PlaceWaiter {
  /** Resolves when this instance gives a place of the key back, or after `ms`, whichever is first. */
  next(ms: number): Promise<void>;
  /** Stops waiting (always call it, admitted or not). */
  leave(): void;
}

interface KeyWaiters {
  /** Attempts waiting for the key, asleep or asking for a place. */
  members: number;
  /** The asleep ones' wake-ups, longest asleep first. */
  asleep: Set<() => void>;
  /** Places given back while no one was asleep: the next to fall asleep wakes at once. */
  unclaimed: number;
}

/**
 * Attempts waiting, on this instance, for a place among an account's checks in progress. A place
 * this instance gives back wakes one of them to ask for it (wake), a change that concerns them
 * all (a success, a lock) wakes every one (wakeAll), so a wait usually ends with the check it
 * waited for, with one more statement; places given back by other instances are found by asking
 * again after a while. At most `limit` attempts wait per key: the rest are refused at once,
 * so a flood of concurrent attempts at one account costs one statement each, as before waiting.
 */
export class PlaceWaiters {
  private readonly keys = new Map<string, KeyWaiters>();

  constructor(private readonly limit: number) {}

  /** A waiter for `key`, or null when `limit` attempts already wait for it. */
  join(key: string): PlaceWaiter | null {
    let waiters = this.keys.get(key);
    if (!waiters) {
      waiters = { members: 0, asleep: new Set(), unclaimed: 0 };
      this.keys.set(key, waiters);
    }
    if (waiters.members >= this.limit) return null;
    waiters.members++;
    const own = waiters;
    let left = false;
    return {
      next: (ms) => {
        if (own.unclaimed > 0) {
          own.unclaimed--;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            own.asleep.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, ms);
          own.asleep.add(wake);
        });
      },
      leave: () => {
        if (left) return;
        left = true;
        if (--own.members === 0) this.keys.delete(key);
      },
    };
  }

  /** A place of `key` was given back: wakes the attempt asleep longest, if any waits. */
  wake(key: string): void {
    const waiters = this.keys.get(key);
    if (!waiters) return;
    const [first] = waiters.asleep;
    if (first) first();
    else waiters.unclaimed = Math.min(waiters.unclaimed + 1, waiters.members);
  }

  /**
   * The key's state changed for every waiting attempt (a success freed every place its failures
   * held, or a failure locked it): wakes them all.
   */
  wakeAll(key: string): void {
    const waiters = this.keys.get(key);
    if (!waiters) return;
    // Those asking for a place right now may have read the state before the change: they ask
    // again at once.
    waiters.unclaimed = waiters.members - waiters.asleep.size;
    for (const wake of [...waiters.asleep]) wake();
  }
}
