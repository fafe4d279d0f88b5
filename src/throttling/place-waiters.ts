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
 * Attempts waiting, on this instance, for a place among an account's checks in progress. Places
 * this instance gives back wake as many of them to ask for them (wake: one for a check given back,
 * as many as the account has places for a success, which may also clear failures), a lock wakes
 * every one (wakeAll), so a wait usually ends with the check it waited for, with one more
 * statement, and a burst of successes does not send every waiting attempt after each one's place;
 * places given back by other instances are found by asking again after a while. At most `limit`
 * attempts wait per key: the rest are refused at once, so a flood beyond them costs one statement
 * each.
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

  /**
   * Up to `places` places of `key` were given back: wakes as many attempts, longest asleep first;
   * a place no one is asleep for goes to the next to fall asleep (one asking right now may have
   * read the state before the change).
   */
  wake(key: string, places = 1): void {
    const waiters = this.keys.get(key);
    if (!waiters) return;
    const asking = waiters.members - waiters.asleep.size;
    const asleep = [...waiters.asleep].slice(0, places);
    for (const wakeUp of asleep) wakeUp();
    waiters.unclaimed = Math.min(waiters.unclaimed + places - asleep.length, asking);
  }

  /** The key's state changed for every waiting attempt (a failure locked it): wakes them all. */
  wakeAll(key: string): void {
    const waiters = this.keys.get(key);
    if (!waiters) return;
    // Those asking for a place right now may have read the state before the change: they ask
    // again at once.
    waiters.unclaimed = waiters.members - waiters.asleep.size;
    for (const wake of [...waiters.asleep]) wake();
  }
}
