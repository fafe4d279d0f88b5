import type { Admission, LoginThrottleRepository } from './login-throttle.repository';
import type { ThrottleRules } from './login-throttle.rules';
import { LoginThrottle } from './login-throttle.service';
import { RateLimits } from './rate-limits.service';

const FULL: Admission = { admitted: false, refusal: { lockedMs: 0, atLimit: false } };

const LOCKED: Admission = { admitted: false, refusal: { lockedMs: 30_000, atLimit: true } };

/**
 * A throttle on a repository whose answers (by key) the test decides, counting the questions;
 * `knownClient`: whether the caller's client is known to the account.
 */
function throttleWith(answer: (key: string) => Admission, knownClient = false) {
  const repository = {
    asked: 0,
    admit: jest.fn((key: string) => {
      repository.asked++;
      return Promise.resolve(answer(key));
    }),
    recordSuccess: jest.fn(() => Promise.resolve()),
    recordFailure: jest.fn(() => Promise.resolve({ locked: false })),
    release: jest.fn(() => Promise.resolve()),
  };
  const rateLimits = {
    limiter: () => ({
      get: () => Promise.resolve(knownClient ? { remainingPoints: 0 } : null),
      set: () => Promise.resolve(),
    }),
  };
  const rules = { maxFailures: 2, maxWaiting: 3 } as ThrottleRules;
  const throttle = new LoginThrottle(
    repository as unknown as LoginThrottleRepository,
    rateLimits as unknown as RateLimits,
    rules,
  );
  const attempt = (check: () => Promise<boolean> = () => Promise.resolve(true)) =>
    throttle.judge('someone@example.com', '203.0.113.7', check, (ok) => ok);
  return { repository, attempt };
}

describe('LoginThrottle waiting for a place', () => {
  it('asks again a few times over its wait, not in a busy loop, then refuses with Retry-After: 1', async () => {
    const { repository, attempt } = throttleWith(() => FULL);
    const started = performance.now();
    await expect(attempt()).rejects.toMatchObject({
      code: 'too_many_attempts',
      problem: { retryAfterSeconds: 1 },
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    // At 100, 300, 700, 1100 and 1500 ms, after the first question.
    expect(repository.asked).toBeLessThanOrEqual(6);
  });

  it('refuses at once beyond maxWaiting waiting attempts per account', async () => {
    const { repository, attempt } = throttleWith(() => FULL);
    const started = performance.now();
    const waiting = [attempt(), attempt(), attempt()];
    const refused = attempt();
    await expect(refused).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(performance.now() - started).toBeLessThan(500);
    await Promise.allSettled(waiting);
    expect(repository.asked).toBeLessThanOrEqual(3 * 6 + 1);
  });

  it('does not wait when the account is at its limit or locked', async () => {
    const { repository, attempt } = throttleWith(() => ({
      admitted: false,
      refusal: { lockedMs: 30_000, atLimit: true },
    }));
    await expect(attempt()).rejects.toMatchObject({ problem: { retryAfterSeconds: 30 } });
    expect(repository.asked).toBe(1);
  });

  it('wakes a waiting attempt as soon as this instance gives a place back', async () => {
    let free = 1;
    const { repository, attempt } = throttleWith(() => {
      if (free === 0) return FULL;
      free--;
      return { admitted: true };
    });
    repository.recordSuccess.mockImplementation(() => {
      free++;
      return Promise.resolve();
    });
    const started = performance.now();
    await Promise.all([attempt(), attempt(), attempt()]);
    // Each place given back woke the next attempt: no waiting for a pause to end.
    expect(performance.now() - started).toBeLessThan(90);
    expect(repository.recordSuccess).toHaveBeenCalledTimes(3);
  });

  it('wakes as many waiting attempts as the account has places when a success frees them', async () => {
    let free = 1;
    let admitted = 0;
    const { repository, attempt } = throttleWith(() => {
      if (free === 0) return FULL;
      free--;
      admitted++;
      return { admitted: true };
    });
    // The success clears failures: two places for the two waiting attempts, where there was one.
    repository.recordSuccess.mockImplementationOnce(() => {
      free += 2;
      return Promise.resolve();
    });
    // Checks that end only when the test says: an admitted attempt gives nothing back meanwhile.
    const gates: (() => void)[] = [];
    const gated = () => new Promise<boolean>((resolve) => gates.push(() => resolve(true)));
    const first = attempt(gated);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [attempt(gated), attempt(gated)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    gates[0]();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Both were let in by the success, not one by it and the other at its next question.
    expect(admitted).toBe(3);
    gates.slice(1).forEach((open) => open());
    await Promise.all(waiting);
  });

  it('tells every waiting attempt at once of a lock a failure set', async () => {
    let locked = false;
    let admittedOne = false;
    const { repository, attempt } = throttleWith(() => {
      if (locked) return LOCKED;
      if (admittedOne) return FULL;
      admittedOne = true;
      return { admitted: true };
    });
    repository.recordFailure.mockImplementation(() => {
      locked = true;
      return Promise.resolve({ locked: true });
    });
    let fail!: () => void;
    const guess = attempt(() => new Promise((resolve) => (fail = () => resolve(false))));
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [attempt(), attempt()];
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    fail();
    await expect(guess).resolves.toBe(false);
    for (const refused of waiting) {
      await expect(refused).rejects.toMatchObject({ problem: { retryAfterSeconds: 30 } });
    }
    // Both at once, not one at once and the other at its next question (100 ms after it began).
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('waits once in all, for the account’s place and then the known client’s', async () => {
    const started = performance.now();
    // The account's places stay taken for a second, then its limit is reached; the client's
    // counters have no place either.
    const clientKey = RateLimits.clientKey('203.0.113.7', 'someone@example.com');
    const { attempt } = throttleWith(
      (key) => (key === clientKey || performance.now() - started < 1_000 ? FULL : LOCKED),
      true,
    );
    await expect(attempt()).rejects.toMatchObject({ problem: { retryAfterSeconds: 1 } });
    expect(performance.now() - started).toBeLessThan(1_800);
  });
});
