import { SchedulerRegistry } from '@nestjs/schedule';
import { createApp } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { loadAppConfig } from '../../src/config/app-config';
import { LoginThrottleRepository } from '../../src/throttling/login-throttle.repository';
import { LOCK_BASE_SECONDS, LOCK_CAP_SECONDS } from '../../src/throttling/login-throttle.rules';
import { RateLimits } from '../../src/throttling/rate-limits.service';
import { bearer, newAccount, uniqueEmail, type Account } from '../support/auth';
import { openTransaction, untilWaitingOnLocks, waitingOnLocks } from '../support/locks';
import { createTestApp, testEnvironment, type TestApp } from '../support/test-app';

let ipCounter = 0;
const freshIp = () => `203.0.113.${++ipCounter}`;

describe('login throttling per account (LOGIN_MAX_FAILURES=5)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '5', IP_RATE_LIMIT_PER_MINUTE: '100000' });
  });
  afterAll(() => t.close());

  const attempt = (email: string, password: string, ip = '198.18.0.1') =>
    t.request({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
      remoteAddress: ip,
    });
  /** Ends the current lock, as if its time had passed. */
  const endLocks = () =>
    t.db.query(`UPDATE login_throttle SET locked_until = now() WHERE locked_until > now()`);
  /** The account's state as stored. */
  const stored = async (email: string) =>
    (
      await t.db.query<{ failures: number; checking: number }>(
        `SELECT failures, checking FROM login_throttle WHERE key = $1`,
        [RateLimits.key(email)],
      )
    )[0];
  const failTimes = async (email: string, n: number, ip?: string) => {
    for (let i = 0; i < n; i++)
      expect((await attempt(email, `wrong-${i}-password`, ip)).statusCode).toBe(401);
  };

  it('locks an account after 5 failures, the right password included, with Retry-After', async () => {
    const account = await newAccount(t, 'locked');
    await failTimes(account.email, 5);
    const locked = await attempt(account.email, account.password);
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'too_many_attempts' });
    // The contract: at least 30 s.
    expect(LOCK_BASE_SECONDS).toBe(30);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it('doubles the lock with each failure after it, up to 15 minutes', async () => {
    const account = await newAccount(t, 'growing');
    await failTimes(account.email, 5);
    const retryAfters: number[] = [];
    for (let i = 0; i < 8; i++) {
      await endLocks();
      expect((await attempt(account.email, 'still wrong password')).statusCode).toBe(401);
      retryAfters.push(
        Number((await attempt(account.email, account.password)).headers['retry-after']),
      );
    }
    expect(retryAfters).toEqual([60, 120, 240, 480, 900, 900, 900, 900]);
    expect(LOCK_CAP_SECONDS).toBe(900);
  });

  it('lets the right password in once the lock is over, and starts counting afresh', async () => {
    const account = await newAccount(t, 'recovers');
    await failTimes(account.email, 5);
    await endLocks();
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
    // Counting starts again from zero: four more failures do not lock.
    await failTimes(account.email, 4);
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
  });

  it('throttles unknown emails the same way, so a 429 reveals nothing', async () => {
    const ghost = uniqueEmail('ghost');
    await failTimes(ghost, 5);
    const res = await attempt(ghost, 'whatever password');
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(29);
  });

  it('throttles the current password of a password change like a login, on counters an email change does not reset', async () => {
    const account = await newAccount(t, 'changer'); // logged in from 127.0.0.1
    const thief = freshIp();
    const asThief = (method: 'POST' | 'PATCH', url: string, payload: object) =>
      t.request({
        method,
        url,
        headers: bearer(account.tokens.accessToken),
        payload,
        remoteAddress: thief,
      });
    const change = (currentPassword: string) =>
      asThief('POST', '/users/me/password', {
        currentPassword,
        newPassword: 'the-thief-s-password',
      });
    for (let i = 0; i < 5; i++) {
      expect((await change(`wrong-${i}-password`)).json().code).toBe('invalid_current_password');
    }
    const locked = await change(account.password);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('too_many_attempts');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    // A new email (an access token is enough for that) does not buy new guesses.
    const moved = uniqueEmail('changer-moved');
    expect((await asThief('PATCH', '/users/me', { email: moved })).statusCode).toBe(200);
    expect((await change(account.password)).statusCode).toBe(429);
    // The password never changed, and logins have counters of their own.
    expect((await attempt(moved, account.password, freshIp())).statusCode).toBe(200);
  });

  it('leaves other accounts alone', async () => {
    const victim = await newAccount(t, 'victim');
    const bystander = await newAccount(t, 'bystander');
    await failTimes(victim.email, 5);
    expect((await attempt(victim.email, victim.password)).statusCode).toBe(429);
    expect((await attempt(bystander.email, bystander.password)).statusCode).toBe(200);
  });

  it('does not lock the real user out from a client they logged in from before', async () => {
    const user = await newAccount(t, 'known-client');
    const home = freshIp();
    expect((await attempt(user.email, user.password, home)).statusCode).toBe(200);
    const attacker = freshIp();
    await failTimes(user.email, 5, attacker);
    expect((await attempt(user.email, user.password, attacker)).statusCode).toBe(429);
    expect((await attempt(user.email, user.password, freshIp())).statusCode).toBe(429);
    // From home, the user is judged on home's own counter.
    expect((await attempt(user.email, user.password, home)).statusCode).toBe(200);
    // The attacker is still locked out.
    expect((await attempt(user.email, 'guess password', attacker)).statusCode).toBe(429);
  });

  /** Puts the account in a state: its failures so far and a check lost `lostAgo` ago. */
  const withLostCheck = (email: string, failures: number, lostAgo: string) =>
    t.db.query(
      `INSERT INTO login_throttle (key, failures, last_failure_at, checking, checking_since)
       VALUES ($1, $2, now(), 1, now() - $3::interval)
       ON CONFLICT (key) DO UPDATE SET failures = $2, last_failure_at = now(), checking = 1,
         checking_since = now() - $3::interval`,
      [RateLimits.key(email), failures, lostAgo],
    );

  it('lets concurrent logins of one account beyond its places wait for one: none that has not failed is refused', async () => {
    const account = await newAccount(t, 'busy');
    // Five places, and the rest of the twenty waiting for them on this instance.
    const twenty = await Promise.all(
      Array.from({ length: 20 }, () => attempt(account.email, account.password)),
    );
    expect(twenty.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    // Nothing was counted as a failure, and every place was given back.
    expect(await stored(account.email)).toEqual({ failures: 0, checking: 0 });
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
  });

  it('wakes, for each success, only as many waiting attempts as there are places: a burst costs a few statements per login', async () => {
    const account = await newAccount(t, 'burst');
    const admit = jest.spyOn(t.app.get(LoginThrottleRepository), 'admit');
    try {
      const burst = await Promise.all(
        Array.from({ length: 40 }, () => attempt(account.email, account.password)),
      );
      for (const res of burst.filter((r) => r.statusCode !== 200)) {
        expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '1']);
      }
      // Waking every waiting attempt at each success asked about 12 times per login here (and
      // about 20 for 64 logins at once); waking five, about 5.
      expect(admit.mock.calls.length).toBeLessThanOrEqual(8 * burst.length);
    } finally {
      admit.mockRestore();
    }
  });

  it('refuses at once, with Retry-After: 1, the attempts beyond those a wait can serve', async () => {
    const account = await newAccount(t, 'flooded');
    // Four failures leave one place, which a check on another instance holds.
    await withLostCheck(account.email, 4, '1 second');
    const flood = await Promise.all(
      Array.from({ length: 70 }, async () => {
        const started = Date.now();
        const res = await attempt(account.email, account.password);
        return { res, ms: Date.now() - started };
      }),
    );
    for (const { res } of flood) {
      expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '1']);
    }
    // 64 waited the whole wait for a place that never came; the other 6 were refused at once.
    expect(flood.filter(({ ms }) => ms >= 1_400)).toHaveLength(64);
    expect(flood.filter(({ ms }) => ms < 1_000)).toHaveLength(6);
    expect(await stored(account.email)).toEqual({ failures: 4, checking: 1 });
  });

  it('lets a waiting attempt in when another instance gives a place back', async () => {
    const account = await newAccount(t, 'elsewhere');
    // Four failures leave one place, and a check on another instance holds it.
    await withLostCheck(account.email, 4, '1 second');
    const waiting = attempt(account.email, account.password, freshIp());
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.db.query(`UPDATE login_throttle SET checking = 0 WHERE key = $1`, [
      RateLimits.key(account.email),
    ]);
    expect((await waiting).statusCode).toBe(200);
  });

  it('counts concurrent failures exactly, and lets none past the limit together', async () => {
    const account: Account = await newAccount(t, 'concurrent');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(account.email, `parallel-wrong-${i}`)),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const checked = statuses.filter((s) => s === 401).length;
    // Exactly the limit: checks in progress count against it.
    expect(checked).toBe(5);
    expect((await stored(account.email))?.failures).toBe(checked);
  });

  it('checks exactly LOGIN_MAX_FAILURES guesses from clients guessing side by side for a while', async () => {
    // Sixteen clients, each guessing one password after another: checks begin and end at every
    // moment, so a count read before a place is taken, or a place given back before the failure
    // is counted, would let extra guesses through.
    const account = await newAccount(t, 'sustained');
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, client) => {
        for (let i = 0; i < 25; i++) {
          statuses.push((await attempt(account.email, `guess-${client}-${i}`)).statusCode);
        }
      }),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(await stored(account.email)).toEqual({ failures: 5, checking: 0 });
  });

  it('forgets checks in progress that were never settled, and never counts below zero', async () => {
    const account = await newAccount(t, 'stale');
    // Five checks lost with a crashed instance, long ago: they hold no place.
    await t.db.query(
      `INSERT INTO login_throttle (key, checking, checking_since)
       VALUES ($1, 5, now() - interval '1 hour')
       ON CONFLICT (key) DO UPDATE SET checking = 5, checking_since = now() - interval '1 hour'`,
      [RateLimits.key(account.email)],
    );
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
    expect(await stored(account.email)).toEqual({ failures: 0, checking: 0 });
    // Their window over, the count starts from one again rather than below zero: a burst of
    // guesses still gets exactly the limit.
    // (From a client that is not known to the account: a known one would be judged on its own
    // counters once the account reached the limit.)
    const stranger = freshIp();
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(account.email, `burst-wrong-${i}`, stranger)),
    );
    expect(burst.filter((r) => r.statusCode === 401)).toHaveLength(5);
  });

  it('changes nothing for a refused attempt, so a lost check cannot be kept alive by retrying', async () => {
    const account = await newAccount(t, 'lost-check');
    // Four failures leave one place, and a check lost just now holds it.
    await withLostCheck(account.email, 4, '1 second');
    const before = await t.db.query(`SELECT * FROM login_throttle WHERE key = $1`, [
      RateLimits.key(account.email),
    ]);
    // Each waits for the place, asking for it now and then, and is refused when its wait is over.
    const refused = await Promise.all(
      Array.from({ length: 3 }, () => attempt(account.email, account.password, freshIp())),
    );
    for (const res of refused) {
      expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '1']);
    }
    const after = await t.db.query(`SELECT * FROM login_throttle WHERE key = $1`, [
      RateLimits.key(account.email),
    ]);
    expect(after).toEqual(before);
    // Once the lost check is old enough to be forgotten, the right password gets in.
    await withLostCheck(account.email, 4, '31 seconds');
    expect((await attempt(account.email, account.password, freshIp())).statusCode).toBe(200);
  });

  it('refuses a locked or full account by reading its row: a refusal neither waits for its lock nor takes it', async () => {
    const locked = await newAccount(t, 'read-locked');
    await failTimes(locked.email, 5);
    const full = await newAccount(t, 'read-full');
    await withLostCheck(full.email, 4, '1 second');
    for (const [account, retryAfter] of [
      [locked, LOCK_BASE_SECONDS],
      [full, 1],
    ] as const) {
      // Another transaction holds the row's lock (an outcome being recorded, say).
      const holder = await openTransaction(
        t,
        `SELECT 1 FROM login_throttle WHERE key = $1 FOR UPDATE`,
        [RateLimits.key(account.email)],
      );
      try {
        const pending = attempt(account.email, account.password, freshIp());
        // (The full account's attempt waits for a place meanwhile, asking with reads.)
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await waitingOnLocks(t, 'login_throttle')).toBe(0);
        const answer = await Promise.race([
          pending,
          new Promise<'still waiting'>((resolve) => setTimeout(resolve, 4_000, 'still waiting')),
        ]);
        expect(answer).not.toBe('still waiting');
        if (answer === 'still waiting') await pending;
        else {
          expect(answer.statusCode).toBe(429);
          expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(retryAfter - 1);
          expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(retryAfter);
        }
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    }
  });

  it('decides on the row as it is once its lock is free, when the row changed after the attempt began', async () => {
    const account = await newAccount(t, 'changed-row');
    const key = RateLimits.key(account.email);
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
    // While the attempt's statement reads the row with every place free, another transaction
    // records the fifth failure, which locks the account, and commits only later.
    const holder = await openTransaction(
      t,
      `UPDATE login_throttle SET failures = 5, last_failure_at = now(),
         locked_until = now() + make_interval(secs => $2) WHERE key = $1`,
      [key, LOCK_BASE_SECONDS],
    );
    let pending;
    try {
      pending = attempt(account.email, account.password, freshIp());
      await untilWaitingOnLocks(t, 1, 'login_throttle');
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    const refused = await pending;
    // Refused, and told of the lock: the row's latest version was read for the answer.
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(LOCK_BASE_SECONDS - 1);
    expect(await stored(account.email)).toEqual({ failures: 5, checking: 0 });
  });

  it('tells a waiting attempt of a lock set meanwhile at once, not when its wait is over', async () => {
    const account = await newAccount(t, 'lock-while-waiting');
    // Four failures leave one place; a fifth guess, from elsewhere, holds it while it is checked.
    await withLostCheck(account.email, 4, '1 second');
    const started = Date.now();
    const waiting = attempt(account.email, account.password, freshIp());
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The guess fails on this instance: its failure locks the account.
    await t.app.get(LoginThrottleRepository).recordFailure(RateLimits.key(account.email));
    const refused = await waiting;
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(LOCK_BASE_SECONDS - 1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('forgets a run of failures a day after its latest failure, not its first', async () => {
    const account = await newAccount(t, 'window');
    const key = RateLimits.key(account.email);
    await failTimes(account.email, 4);
    // The run began long ago but its latest failure was 23 hours ago: it is still counted.
    await t.db.query(
      `UPDATE login_throttle SET last_failure_at = now() - interval '23 hours' WHERE key = $1`,
      [key],
    );
    await failTimes(account.email, 1);
    expect((await attempt(account.email, account.password)).statusCode).toBe(429);
    // A day after the latest failure (and the lock long over), the run is forgotten.
    await t.db.query(
      `UPDATE login_throttle SET last_failure_at = now() - interval '25 hours',
         locked_until = now() - interval '1 hour' WHERE key = $1`,
      [key],
    );
    await failTimes(account.email, 4);
    expect((await attempt(account.email, account.password)).statusCode).toBe(200);
  });
});

describe('login throttling on two instances sharing the database', () => {
  const env = { LOGIN_MAX_FAILURES: '5', IP_RATE_LIMIT_PER_MINUTE: '1000000' };
  let a: TestApp;
  let b: Awaited<ReturnType<typeof createApp>>;

  beforeAll(async () => {
    a = await createTestApp(env);
    b = await createApp(loadAppConfig(testEnvironment({ DATABASE_URL: a.db.url, ...env })), {
      logger: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /**
   * Clients on both instances guessing side by side for two seconds, while the lock is ended
   * every `endLocksEveryMs` (0: never): how many guesses were checked, how many locks ended, and
   * the key's state after.
   */
  async function guessFromBoth(email: string, endLocksEveryMs: number) {
    const key = RateLimits.key(email);
    const stop = Date.now() + 2_000;
    let checked = 0;
    let locksEnded = 0;
    const ender = (async () => {
      while (endLocksEveryMs && Date.now() < stop) {
        await new Promise((resolve) => setTimeout(resolve, endLocksEveryMs));
        const ended = await a.db.query(
          `UPDATE login_throttle SET locked_until = now()
            WHERE key = $1 AND locked_until > now() RETURNING key`,
          [key],
        );
        locksEnded += ended.length;
      }
    })();
    const instances = [
      (options: Parameters<TestApp['request']>[0]) => a.request(options),
      (options: Parameters<TestApp['request']>[0]) =>
        b.getHttpAdapter().getInstance().inject(options),
    ];
    await Promise.all(
      Array.from({ length: 16 }, async (_, client) => {
        for (let i = 0; Date.now() < stop; i++) {
          const res = await instances[client % 2]({
            method: 'POST',
            url: '/auth/login',
            payload: { email, password: `wrong-${client}-${i}` },
            remoteAddress: `198.18.7.${client}`,
          });
          expect([401, 429]).toContain(res.statusCode);
          if (res.statusCode === 401) checked++;
        }
      }),
    );
    await ender;
    const [row] = await a.db.query<{ failures: number; checking: number }>(
      `SELECT failures, checking FROM login_throttle WHERE key = $1`,
      [key],
    );
    return { checked, locksEnded, row };
  }

  it('checks exactly LOGIN_MAX_FAILURES guesses, however the instances interleave them', async () => {
    const { checked, row } = await guessFromBoth(uniqueEmail('two-instances'), 0);
    expect(checked).toBe(5);
    expect(row).toEqual({ failures: 5, checking: 0 });
  });

  it('checks one guess more for each lock that ends, and counts every one', async () => {
    const { checked, locksEnded, row } = await guessFromBoth(uniqueEmail('two-ended'), 150);
    expect(locksEnded).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(5 + locksEnded);
    expect(row).toEqual({ failures: checked, checking: 0 });
  });
});

describe('login throttle cleanup', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '5' });
  });
  afterAll(() => t.close());

  it('deletes the rows whose state has expired, in batches, and keeps the rest', async () => {
    const repository = t.app.get(LoginThrottleRepository);
    await t.db.query(
      `INSERT INTO login_throttle (key, expires_at)
       SELECT 'cleanup-expired-' || n, now() - interval '1 second' FROM generate_series(1, 25) n`,
    );
    await t.db.query(
      `INSERT INTO login_throttle (key, failures, last_failure_at, expires_at)
       VALUES ('cleanup-live', 3, now(), now() + interval '1 day')`,
    );
    // Three batches of ten: 10, 10, 5.
    expect(await repository.deleteExpired(10)).toBe(25);
    const left = await t.db.query<{ key: string }>(
      `SELECT key FROM login_throttle WHERE key LIKE 'cleanup-%'`,
    );
    expect(left.map((row) => row.key)).toEqual(['cleanup-live']);
  });

  it('keeps a row an attempt took a place in while the cleanup was deleting it', async () => {
    const key = 'cleanup-readmitted';
    await t.db.query(
      `INSERT INTO login_throttle (key, expires_at) VALUES ($1, now() - interval '1 second')`,
      [key],
    );
    // An admission renews the expired row, and commits only once the cleanup waits for it.
    const admission = await openTransaction(
      t,
      `UPDATE login_throttle SET checking = 1, checking_since = now(),
         expires_at = now() + interval '30 seconds' WHERE key = $1`,
      [key],
    );
    let cleanup;
    try {
      cleanup = t.app.get(LoginThrottleRepository).deleteExpired(1000);
      await untilWaitingOnLocks(t, 1, 'DELETE FROM login_throttle');
      await admission.query('COMMIT');
    } finally {
      await admission.end();
    }
    await cleanup;
    // Else the check admitted would be counted nowhere: a guess the limit never saw.
    const [row] = await t.db.query<{ checking: number }>(
      `SELECT checking FROM login_throttle WHERE key = $1`,
      [key],
    );
    expect(row).toEqual({ checking: 1 });
  });

  it('is scheduled, with the sessions and audit clean-ups, by @nestjs/schedule', () => {
    expect(t.app.get(SchedulerRegistry).getIntervals()).toHaveLength(3);
  });

  it('keeps every row a login depends on until its state has expired', async () => {
    const account = await newAccount(t, 'cleanup-real');
    // From a client the account has never logged in from.
    const login = (password: string) =>
      t.request({
        method: 'POST',
        url: '/auth/login',
        payload: { email: account.email, password },
        remoteAddress: '198.51.100.99',
      });
    for (let i = 0; i < 5; i++) expect((await login(`x-${i}-wrong`)).statusCode).toBe(401);
    await t.app.get(LoginThrottleRepository).deleteExpired(1000);
    expect((await login(account.password)).statusCode).toBe(429);
  });
});

describe('per-IP budget (IP_RATE_LIMIT_PER_MINUTE=8) across login, signup, refresh and reset', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ IP_RATE_LIMIT_PER_MINUTE: '8' });
  });
  afterAll(() => t.close());

  const from = (ip: string, url: string, payload: object, headers: Record<string, string> = {}) =>
    t.request({ method: 'POST', url, payload, remoteAddress: ip, headers });

  it('counts every credential endpoint against one budget per client, and only that client', async () => {
    const ip = '192.0.2.10';
    const calls = [
      () => from(ip, '/auth/login', { email: uniqueEmail(), password: 'wrong password' }),
      () => from(ip, '/auth/signup', { email: uniqueEmail(), password: 'long enough password' }),
      () => from(ip, '/auth/refresh', { refreshToken: 'rt_nope' }),
      () => from(ip, '/auth/password-reset/request', { email: uniqueEmail() }),
    ];
    for (let i = 0; i < 8; i++) expect((await calls[i % 4]()).statusCode).toBeLessThan(429);
    for (const call of calls) {
      const res = await call();
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(
      (
        await from('192.0.2.11', '/auth/login', {
          email: uniqueEmail(),
          password: 'wrong password',
        })
      ).statusCode,
    ).toBe(401);
  });

  it('counts an IPv6 client by its /64: rotating addresses within it does not buy a new budget', async () => {
    const address = (host: number) => `2001:db8:77:1::${host.toString(16)}`;
    for (let i = 0; i < 8; i++) {
      const res = await from(address(i + 1), '/auth/refresh', { refreshToken: 'rt_nope' });
      expect(res.statusCode).toBe(401);
    }
    expect(
      (await from(address(100), '/auth/refresh', { refreshToken: 'rt_nope' })).statusCode,
    ).toBe(429);
    // The next /64 is another client.
    expect(
      (await from('2001:db8:77:2::1', '/auth/refresh', { refreshToken: 'rt_nope' })).statusCode,
    ).toBe(401);
  });

  it('believes X-Forwarded-For only from a TRUST_PROXY proxy', async () => {
    // Not trusted: the forwarded address is ignored, the socket's is counted.
    const spoofing = async (n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await from(
          '192.0.2.20',
          '/auth/refresh',
          { refreshToken: 'rt_nope' },
          { 'x-forwarded-for': `10.0.0.${i}` },
        );
        statuses.push(res.statusCode);
      }
      return statuses;
    };
    expect((await spoofing(9)).at(-1)).toBe(429);

    const behindProxy = await createTestApp({
      IP_RATE_LIMIT_PER_MINUTE: '20',
      TRUST_PROXY: '192.0.2.30,10.0.0.0/8',
    });
    try {
      const via = (client: string) =>
        behindProxy.request({
          method: 'POST',
          url: '/auth/refresh',
          payload: { refreshToken: 'rt_nope' },
          remoteAddress: '192.0.2.30',
          headers: { 'x-forwarded-for': client },
        });
      for (let i = 0; i < 20; i++) expect((await via('198.51.100.7')).statusCode).toBe(401);
      expect((await via('198.51.100.7')).statusCode).toBe(429);
      // Another client behind the same proxy has its own budget.
      expect((await via('198.51.100.8')).statusCode).toBe(401);
      // What the proxy passes on is an address, or it is the proxy's own: never text of the
      // client's choosing, stored in sessions and audit events or given a budget of its own.
      const account = await newAccount(behindProxy, 'forwarded');
      const seenAs = async (forwardedFor: string) => {
        const res = await behindProxy.request({
          method: 'POST',
          url: '/auth/login',
          payload: { email: account.email, password: account.password },
          remoteAddress: '192.0.2.30',
          headers: { 'x-forwarded-for': forwardedFor },
        });
        expect(res.statusCode).toBe(200);
        const sessions = await behindProxy.request({
          method: 'GET',
          url: '/auth/sessions',
          headers: bearer(res.json().accessToken),
        });
        return sessions.json().find((session: { current: boolean }) => session.current).ip;
      };
      expect(await seenAs('203.0.113.9')).toBe('203.0.113.9');
      expect(await seenAs('203.0.113.9:1234')).toBe('203.0.113.9');
      expect(await seenAs('[2001:db8::1]:443')).toBe('2001:db8::1');
      // An inner trusted proxy that writes its hop with a port is still a proxy, not the client.
      expect(await seenAs('203.0.113.9, 10.0.0.5:5555')).toBe('203.0.113.9');
      const junk = ['<script>', 'b'.repeat(15_000), 'unknown', '127.1', '0x7f000001'];
      for (const forwarded of junk) expect(await seenAs(forwarded)).toBe('192.0.2.30');
      // …and shares the proxy's budget: it buys none of its own.
      const refreshVia = (forwarded?: string) =>
        behindProxy.request({
          method: 'POST',
          url: '/auth/refresh',
          payload: { refreshToken: 'rt_nope' },
          remoteAddress: '192.0.2.30',
          headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 20 - junk.length; i++)
        statuses.push((await refreshVia(`junk-${i}`)).statusCode);
      expect(statuses.at(-1)).toBe(401);
      expect((await refreshVia('more junk')).statusCode).toBe(429);
      expect((await refreshVia()).statusCode).toBe(429);
    } finally {
      await behindProxy.close();
    }
  });
});
