import { get, newAccount, post, refresh, uniqueEmail } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const metric = (text: string, line: string) =>
    Number(
      new RegExp(`^${line.replace(/[{}"=,]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ??
        NaN,
    );

  it('shows every login and refresh outcome from the start, at 0 (before any event)', async () => {
    const fresh = await createTestApp();
    try {
      const text = (await get(fresh, '/metrics')).body;
      for (const outcome of ['succeeded', 'invalid_credentials', 'account_disabled', 'throttled']) {
        expect([outcome, metric(text, `auth_logins_total{outcome="${outcome}"}`)]).toEqual([
          outcome,
          0,
        ]);
      }
      for (const outcome of ['rotated', 'invalid', 'reused']) {
        expect([outcome, metric(text, `auth_refreshes_total{outcome="${outcome}"}`)]).toEqual([
          outcome,
          0,
        ]);
      }
    } finally {
      await fresh.close();
    }
  });

  it('counts requests by route and status, logins by outcome, refreshes, reuse and active sessions', async () => {
    const account = await newAccount(t);
    await post(t, '/auth/login', { email: account.email, password: 'wrong-password' });
    const next = (await refresh(t, account.tokens.refreshToken)).json();
    await t.db.query(
      `UPDATE refresh_tokens SET spent_at = now() - interval '1 minute' WHERE spent_at IS NOT NULL`,
    );
    await refresh(t, account.tokens.refreshToken);
    await get(t, `/users/me`, next.accessToken);

    const res = await get(t, '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(metric(text, 'auth_logins_total{outcome="succeeded"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'auth_logins_total{outcome="invalid_credentials"}')).toBe(1);
    expect(metric(text, 'auth_refreshes_total{outcome="rotated"}')).toBe(1);
    expect(metric(text, 'auth_refresh_reuse_detected_total')).toBe(1);
    expect(
      metric(
        text,
        'http_request_duration_seconds_count{method="POST",route="/auth/login",status="401"}',
      ),
    ).toBe(1);
    expect(
      metric(
        text,
        'http_request_duration_seconds_count{method="GET",route="/users/me",status="401"}',
      ),
    ).toBe(1);
    expect(metric(text, 'auth_active_sessions')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    // Route patterns, never raw URLs, label the requests.
    await get(t, '/no/such/thing/12345');
    expect((await get(t, '/metrics')).body).toMatch(/route="unmatched"/);
  });

  it('counts a login refused by the account throttle as outcome "throttled"', async () => {
    // An unknown email: a known account's own client would get an allowance of its own.
    const wrong = { email: uniqueEmail('ghost'), password: 'wrong-password' };
    for (let i = 0; i < t.config.loginMaxFailures; i++) {
      expect((await post(t, '/auth/login', wrong)).statusCode).toBe(401);
    }
    expect((await post(t, '/auth/login', wrong)).statusCode).toBe(429);
    expect(metric((await get(t, '/metrics')).body, 'auth_logins_total{outcome="throttled"}')).toBe(
      1,
    );
  });
});
