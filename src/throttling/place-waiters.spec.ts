import { PlaceWaiters } from './place-waiters';

/** Resolves to how long `promise` took, in ms. */
const timed = async (promise: Promise<unknown>) => {
  const started = performance.now();
  await promise;
  return performance.now() - started;
};

describe('PlaceWaiters', () => {
  it('lets at most `limit` attempts wait per key, and takes more once one leaves', () => {
    const waiters = new PlaceWaiters(2);
    const first = waiters.join('a');
    expect(first).not.toBeNull();
    expect(waiters.join('a')).not.toBeNull();
    expect(waiters.join('a')).toBeNull();
    expect(waiters.join('b')).not.toBeNull();
    first!.leave();
    first!.leave(); // twice counts once
    expect(waiters.join('a')).not.toBeNull();
    expect(waiters.join('a')).toBeNull();
  });

  it('wakes one attempt per place given back, the one asleep longest', async () => {
    const waiters = new PlaceWaiters(3);
    const woken: string[] = [];
    const sleep = (name: string) =>
      waiters
        .join('k')!
        .next(10_000)
        .then(() => woken.push(name));
    const asleep = [sleep('first'), sleep('second'), sleep('third')];
    waiters.wake('other key');
    waiters.wake('k');
    await asleep[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toEqual(['first']);
    waiters.wake('k');
    waiters.wake('k');
    await Promise.all(asleep);
    expect(woken).toEqual(['first', 'second', 'third']);
  });

  it('wakes an attempt after its pause when nothing is given back', async () => {
    const waiter = new PlaceWaiters(1).join('k')!;
    const took = await timed(waiter.next(50));
    expect(took).toBeGreaterThanOrEqual(45);
    expect(took).toBeLessThan(1_000);
  });

  it('keeps a place given back while its waiters were awake, for the next to fall asleep', async () => {
    const waiters = new PlaceWaiters(2);
    const waiter = waiters.join('k')!;
    waiters.wake('k'); // while the waiter was asking for a place
    expect(await timed(waiter.next(10_000))).toBeLessThan(1_000);
    // Only one was given back: the next pause lasts.
    expect(await timed(waiter.next(50))).toBeGreaterThanOrEqual(45);
    // With no one waiting, a place given back is not kept for later.
    waiter.leave();
    waiters.wake('k');
    expect(await timed(waiters.join('k')!.next(50))).toBeGreaterThanOrEqual(45);
  });

  it('wakes as many attempts as places were given back, longest asleep first; the rest sleep on', async () => {
    const waiters = new PlaceWaiters(4);
    const members = [waiters.join('k')!, waiters.join('k')!, waiters.join('k')!];
    const awake = waiters.join('k')!;
    const woken: number[] = [];
    const asleep = members.map((waiter, i) => waiter.next(200).then(() => woken.push(i)));
    waiters.wake('k', 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woken).toEqual([0, 1]);
    // The one asking meanwhile is not told of places others were woken for…
    expect(await timed(awake.next(50))).toBeGreaterThanOrEqual(45);
    await Promise.all(asleep);
    // …and the third slept on until its pause ended.
    expect(woken).toEqual([0, 1, 2]);
    // Places beyond those asleep go to those asking, up to their number.
    waiters.wake('k', 10);
    for (const waiter of [...members, awake])
      expect(await timed(waiter.next(10_000))).toBeLessThan(1_000);
    expect(await timed(awake.next(50))).toBeGreaterThanOrEqual(45);
  });

  it('wakes every attempt at once when the key changed for all, and those awake ask again', async () => {
    const waiters = new PlaceWaiters(3);
    const asleep = [waiters.join('k')!, waiters.join('k')!];
    const awake = waiters.join('k')!;
    const woken = Promise.all(asleep.map((waiter) => waiter.next(10_000)));
    waiters.wakeAll('k');
    expect(await timed(woken)).toBeLessThan(1_000);
    // The one asking meanwhile may have read the old state: its next pause ends at once…
    expect(await timed(awake.next(10_000))).toBeLessThan(1_000);
    // …and the ones just woken owe nothing: their next pause lasts.
    expect(await timed(asleep[0].next(50))).toBeGreaterThanOrEqual(45);
  });
});
