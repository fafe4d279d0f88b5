import { bearer, get, newAccount, post, superuserTokens, type Account } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

/** IDOR, mass assignment and privilege escalation: a user reaches only what is theirs. */
describe('access control', () => {
  let t: TestApp;
  let alice: Account;
  let mallory: Account;

  beforeAll(async () => {
    t = await createTestApp({ IP_RATE_LIMIT_PER_MINUTE: '100000' });
    alice = await newAccount(t, 'alice');
    mallory = await newAccount(t, 'mallory');
  });
  afterAll(() => t.close());

  const as = (
    who: Account,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => t.request({ method, url, payload, headers: bearer(who.tokens.accessToken) });

  it('does not let one user see or end another’s sessions (404, not 403: nothing is revealed)', async () => {
    const [aliceSession] = (await as(alice, 'GET', '/auth/sessions')).json();
    const res = await as(mallory, 'DELETE', `/auth/sessions/${aliceSession.id}`);
    expect([res.statusCode, res.json().code]).toEqual([404, 'not_found']);
    expect((await get(t, '/users/me', alice.tokens.accessToken)).statusCode).toBe(200);
    expect((await as(mallory, 'GET', '/auth/sessions')).body).not.toContain(aliceSession.id);
  });

  it('does not let one user see or revoke another’s API keys', async () => {
    const key = (
      await as(alice, 'POST', '/auth/api-keys', { name: 'alice key', scopes: ['users:read'] })
    ).json();
    expect((await as(mallory, 'DELETE', `/auth/api-keys/${key.id}`)).statusCode).toBe(404);
    expect((await as(mallory, 'GET', '/auth/api-keys')).body).not.toContain(key.id);
    const withKey = await t.request({
      method: 'GET',
      url: '/users/me',
      headers: { 'x-api-key': key.key },
    });
    expect(withKey.json().id).toBe(alice.id);
  });

  it('refuses privileged fields on sign-up and on one’s own profile (mass assignment)', async () => {
    for (const extra of [
      { isSuperuser: true },
      { roles: ['admin'] },
      { isActive: false },
      { id: alice.id },
    ]) {
      const signup = await post(t, '/auth/signup', {
        email: `mass-${Date.now()}@example.com`,
        password: 'long enough 5',
        ...extra,
      });
      expect([JSON.stringify(extra), signup.statusCode]).toEqual([JSON.stringify(extra), 400]);
      const patch = await as(mallory, 'PATCH', '/users/me', extra);
      expect([JSON.stringify(extra), patch.statusCode]).toEqual([JSON.stringify(extra), 400]);
    }
    const me = (await get(t, '/users/me', mallory.tokens.accessToken)).json();
    expect(me).toMatchObject({ isSuperuser: false, roles: [], isActive: true, id: mallory.id });
  });

  it('keeps every administrator route from an ordinary user, whatever the target', async () => {
    for (const [method, url, payload] of [
      ['GET', '/users', undefined],
      [
        'POST',
        '/users',
        { email: 'made@example.com', password: 'long enough 6', isSuperuser: true },
      ],
      ['GET', `/users/${alice.id}`, undefined],
      ['PATCH', `/users/${mallory.id}`, { isSuperuser: true }],
      ['PATCH', `/users/${alice.id}`, { password: 'taken over password' }],
      ['DELETE', `/users/${alice.id}`, undefined],
      ['GET', '/audit-events', undefined],
    ] as const) {
      const res = await as(mallory, method, url, payload);
      expect([method, url, res.statusCode, res.json().code]).toEqual([
        method,
        url,
        403,
        'forbidden',
      ]);
    }
    expect((await get(t, '/users/me', alice.tokens.accessToken)).statusCode).toBe(200);
    expect((await get(t, '/users/me', mallory.tokens.accessToken)).json().isSuperuser).toBe(false);
  });

  it('takes superuser power away at once when an administrator removes it', async () => {
    const admin = await superuserTokens(t);
    const promoted = await newAccount(t, 'promoted');
    await t.request({
      method: 'PATCH',
      url: `/users/${promoted.id}`,
      headers: bearer(admin.accessToken),
      payload: { isSuperuser: true },
    });
    expect((await as(promoted, 'GET', '/users')).statusCode).toBe(200);
    await t.request({
      method: 'PATCH',
      url: `/users/${promoted.id}`,
      headers: bearer(admin.accessToken),
      payload: { isSuperuser: false },
    });
    expect((await as(promoted, 'GET', '/users')).statusCode).toBe(403);
  });

  it('does not let a superuser delete itself', async () => {
    const admin = await superuserTokens(t);
    const me = (await get(t, '/users/me', admin.accessToken)).json();
    const res = await t.request({
      method: 'DELETE',
      url: `/users/${me.id}`,
      headers: bearer(admin.accessToken),
    });
    expect([res.statusCode, res.json().code]).toEqual([403, 'cannot_delete_self']);
  });
});
