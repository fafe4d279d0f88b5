import type { Admission, LoginThrottleRepository } from './login-throttle.repository';
import type { ThrottleRules } from './login-throttle.rules';
import { LoginThrottle } from './login-throttle.service';
import type { RateLimits } from './rate-limits.service';

const FULL: Admission = { admitted: false, refusal: { lockedMs: 0, atLimit: false } };

/** A throttle on a repository whose answers the test decides, counting the questions. */
function throttleWith(answer: () => Admission) {
  const repository = {
    asked: 0,
    admit: jest.fn(() => {
      repository.asked++;
      return Promise.resolve(answer());
    }),
    recordSuccess: jest.fn(() => Promise.resolve()),
    recordFailure: jest.fn(() => Promise.resolve()),
    release: jest.fn(() => Promise.resolve()),
  };
  const rateLimits = { limiter: () => ({ get: () => Promise.resolve(null) }) };
  const rules = { maxFailures: 2 } as ThrottleRules;
  const throttle = new LoginThrottle(
    repository as unknown as LoginThrottleRepository,
    rateLimits as unknown as RateLimits,
    rules,
  );
  const attempt = () =>
    throttle.judge(
      'someone@example.com',
      null,
      () => Promise.resolve(true),
      (ok) => ok,
    );
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

  it('refuses at once beyond LOGIN_MAX_FAILURES waiting attempts per account', async () => {
    const { repository, attempt } = throttleWith(() => FULL);
    const started = performance.now();
    const waiting = [attempt(), attempt()];
    const refused = attempt();
    await expect(refused).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(performance.now() - started).toBeLessThan(500);
    await Promise.allSettled(waiting);
    expect(repository.asked).toBeLessThanOrEqual(2 * 6 + 1);
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
});
