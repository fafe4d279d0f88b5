import { ApiKeysRepository } from '../../src/auth/api-keys/api-keys.repository';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { bearer, get, newAccount, post, superuserTokens, type Account } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

const KEY_FORMAT = /^ak_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$/;

describe('API keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const createKey = (account: Account, body: object = { name: 'ci', scopes: ['users:read'] }) =>
    post(t, '/auth/api-keys', body, bearer(account.tokens.accessToken));
  const withKey = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    key: string,
    payload?: object,
  ) => t.request({ method, url, payload, headers: { 'x-api-key': key } });

  it('creates a key shown once, lists keys without it, and the key acts as its owner', async () => {
    const account = await newAccount(t, 'keys');
    const created = await createKey(account, { name: '  deploy job ', scopes: ['users:read'] });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({
      id: expect.any(String),
      name: 'deploy job',
      prefix: expect.stringMatching(/^ak_[0-9a-f]{32}$/),
      scopes: ['users:read'],
      createdAt: expect.any(String),
      lastUsedAt: null,
      expiresAt: null,
      key: expect.stringMatching(KEY_FORMAT),
    });
    expect(body.key.startsWith(`${body.prefix}_`)).toBe(true);
    expect(body.prefix).toBe(`ak_${body.id.replaceAll('-', '')}`);

    const me = await withKey('GET', '/users/me', body.key);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: account.id, email: account.email });

    const list = await get(t, '/auth/api-keys', account.tokens.accessToken);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toHaveLength(1);
    expect(list.json()[0]).not.toHaveProperty('key');
    expect(list.body).not.toContain(body.key.slice(-43));
    // The secret is stored only as a hash.
    const [row] = await t.db.query<{ secret_hash: Buffer }>(
      'SELECT secret_hash FROM api_keys WHERE id = $1',
      [body.id],
    );
    expect(row.secret_hash.toString('utf8')).not.toContain(body.key.slice(-43));
    expect(row.secret_hash).toHaveLength(32);
  });

  it('does only what its scopes allow: no scopes means nothing, and never key or password management', async () => {
    const account = await newAccount(t, 'keys-scope');
    const scoped = (await createKey(account)).json().key;
    const unscoped = (await createKey(account, { name: 'nothing' })).json().key;

    const refused = await withKey('GET', '/users/me', unscoped);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('users:read'),
    });

    for (const [method, url, payload] of [
      ['POST', '/auth/api-keys', { name: 'minted', scopes: ['users:read'] }],
      ['GET', '/auth/api-keys', undefined],
      [
        'POST',
        '/users/me/password',
        { currentPassword: account.password, newPassword: 'new password 1' },
      ],
      ['PATCH', '/users/me', { fullName: 'Changed by a key' }],
      ['GET', '/auth/sessions', undefined],
      ['POST', '/auth/logout-all', undefined],
      ['GET', '/users/me/security-events', undefined],
    ] as const) {
      const res = await withKey(method, url, scoped, payload);
      expect([url, res.statusCode, res.json().code]).toEqual([url, 403, 'forbidden']);
    }
    // Nothing happened: one key more would show, the password still works.
    expect((await get(t, '/auth/api-keys', account.tokens.accessToken)).json()).toHaveLength(2);
    expect(
      (await post(t, '/auth/login', { email: account.email, password: account.password }))
        .statusCode,
    ).toBe(200);
  });

  it('gives a superuser’s key no admin power', async () => {
    const admin = await superuserTokens(t);
    const created = await post(
      t,
      '/auth/api-keys',
      { name: 'admin', scopes: ['users:read'] },
      bearer(admin.accessToken),
    );
    const key = created.json().key;
    expect((await withKey('GET', '/users/me', key)).statusCode).toBe(200);
    expect((await withKey('GET', '/users', key)).statusCode).toBe(403);
    expect((await withKey('GET', '/audit-events', key)).statusCode).toBe(403);
  });

  it('answers a wrong, unknown, malformed, revoked and expired key with the same 401', async () => {
    const account = await newAccount(t, 'keys-401');
    const { id, key } = (await createKey(account)).json();
    const soon = new Date(Date.now() + 1_500).toISOString();
    const expiring = (
      await createKey(account, { name: 'short', scopes: ['users:read'], expiresAt: soon })
    ).json();
    expect((await withKey('GET', '/users/me', expiring.key)).statusCode).toBe(200);

    const altered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const unknownId = `ak_${'0'.repeat(32)}${key.slice(35)}`;
    expect((await withKey('GET', '/users/me', key)).statusCode).toBe(200);
    const revoke = await t.request({
      method: 'DELETE',
      url: `/auth/api-keys/${id}`,
      headers: bearer(account.tokens.accessToken),
    });
    expect(revoke.statusCode).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1_600));

    const answers = [];
    for (const presented of [altered, unknownId, 'ak_nope', '', key, expiring.key]) {
      const res = await withKey('GET', '/users/me', presented);
      answers.push({ status: res.statusCode, body: res.json() });
    }
    expect(answers[0]).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it('stops working when its owner is deactivated (until reactivated) or deleted', async () => {
    const admin = await superuserTokens(t);
    for (const change of ['deactivate', 'delete'] as const) {
      const account = await newAccount(t, `keys-${change}`);
      const { key } = (await createKey(account)).json();
      expect((await withKey('GET', '/users/me', key)).statusCode).toBe(200);
      const res = await t.request({
        method: change === 'delete' ? 'DELETE' : 'PATCH',
        url: `/users/${account.id}`,
        payload: change === 'delete' ? undefined : { isActive: false },
        headers: bearer(admin.accessToken),
      });
      expect(res.statusCode).toBe(change === 'delete' ? 204 : 200);
      expect((await withKey('GET', '/users/me', key)).statusCode).toBe(401);
      if (change === 'deactivate') {
        // Suspended, not revoked: reactivating the owner brings the key back, not the sessions.
        const reactivated = await t.request({
          method: 'PATCH',
          url: `/users/${account.id}`,
          payload: { isActive: true },
          headers: bearer(admin.accessToken),
        });
        expect(reactivated.statusCode).toBe(200);
        expect((await withKey('GET', '/users/me', key)).statusCode).toBe(200);
        expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      }
    }
  });

  it('revokes only the caller’s own keys: another user’s key id is 404 and keeps working', async () => {
    const owner = await newAccount(t, 'keys-owner');
    const other = await newAccount(t, 'keys-other');
    const { id, key } = (await createKey(owner)).json();
    const res = await t.request({
      method: 'DELETE',
      url: `/auth/api-keys/${id}`,
      headers: bearer(other.tokens.accessToken),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    expect((await withKey('GET', '/users/me', key)).statusCode).toBe(200);
    expect((await get(t, '/auth/api-keys', other.tokens.accessToken)).json()).toEqual([]);
    const again = await t.request({
      method: 'DELETE',
      url: '/auth/api-keys/not-a-uuid',
      headers: bearer(owner.tokens.accessToken),
    });
    expect(again.statusCode).toBe(404);
  });

  it("records last use; the audit trail keeps to the contract's types (no event for a use)", async () => {
    const account = await newAccount(t, 'keys-used');
    const { id, key } = (await createKey(account)).json();
    const firstRequest = await t.request({
      method: 'GET',
      url: '/users/me',
      headers: { 'x-api-key': key, 'user-agent': 'key-client/1.0' },
    });
    expect(firstRequest.statusCode).toBe(200);
    await withKey('GET', '/users/me', key);
    let listed: { lastUsedAt: string | null }[] = [];
    for (let i = 0; i < 50 && !listed[0]?.lastUsedAt; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      listed = (await get(t, '/auth/api-keys', account.tokens.accessToken)).json();
    }
    expect(Date.parse(listed[0].lastUsedAt!)).toBeGreaterThan(Date.now() - 10_000);
    const events = (await get(t, '/users/me/security-events', account.tokens.accessToken)).json();
    const keyEvents = events.filter((e: { detail: { keyId?: string } }) => e.detail.keyId === id);
    expect(keyEvents.map((e: { type: string }) => e.type)).toEqual(['api_key_created']);
    expect(JSON.stringify(events)).not.toContain(key.slice(-43));

    // An older use recorded late (by a slower instance) does not move lastUsedAt back.
    const keys = t.app.get(ApiKeysRepository);
    const later = new Date(Date.now() + 60_000);
    await keys.touch(id, later);
    await keys.touch(id, new Date(Date.now() - 60_000));
    listed = (await get(t, '/auth/api-keys', account.tokens.accessToken)).json();
    expect(listed[0].lastUsedAt).toBe(later.toISOString());
  });

  it('lets a client holding a key log out by refresh token (the key is ignored there)', async () => {
    const account = await newAccount(t, 'keys-logout');
    const { key } = (await createKey(account)).json();
    const res = await t.request({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken: account.tokens.refreshToken },
      headers: { 'x-api-key': key },
    });
    expect(res.statusCode).toBe(204);
    expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
  });

  it('prefers the bearer token when both credentials are sent', async () => {
    const account = await newAccount(t, 'keys-both');
    const { key } = (await createKey(account, { name: 'nothing' })).json();
    const res = await t.request({
      method: 'POST',
      url: '/auth/api-keys',
      payload: { name: 'by bearer' },
      headers: { ...bearer(account.tokens.accessToken), 'x-api-key': key },
    });
    expect(res.statusCode).toBe(201);
  });

  it('refuses bad creation requests with 400 and creates nothing', async () => {
    const account = await newAccount(t, 'keys-400');
    for (const body of [
      {},
      { name: '' },
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: 'users:read' },
      { name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: 'x', expiresAt: 'tomorrow' },
      { name: 'x', expiresAt: '9999-01-01T00:00:00Z' },
      { name: 'x', userId: account.id },
      { name: 'x'.repeat(101) },
      { name: 'nul \u0000 inside' },
      { name: 'lone surrogate \ud800' },
      { name: 'x', expiresAt: '0000-01-01T00:00:00Z' },
    ]) {
      const res = await createKey(account, body);
      expect([JSON.stringify(body), res.statusCode, res.json().code]).toEqual([
        JSON.stringify(body),
        400,
        'validation_failed',
      ]);
    }
    expect((await get(t, '/auth/api-keys', account.tokens.accessToken)).json()).toEqual([]);
  });

  it('takes a scope given twice as given once', async () => {
    const account = await newAccount(t, 'keys-repeat');
    const res = await createKey(account, { name: 'x', scopes: ['users:read', 'users:read'] });
    expect([res.statusCode, res.json().scopes]).toEqual([201, ['users:read']]);
  });

  it('allows at most 100 keys per user', async () => {
    const account = await newAccount(t, 'keys-100');
    for (let i = 0; i < 100; i++)
      expect((await createKey(account, { name: `k${i}` })).statusCode).toBe(201);
    const refused = await createKey(account, { name: 'one too many' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().detail).toMatch(/at most 100/);
  });

  it('keeps to the limit when keys are created concurrently', async () => {
    const account = await newAccount(t, 'keys-race');
    // One place left, eight requests for it.
    for (let i = 0; i < 99; i++)
      expect((await createKey(account, { name: `k${i}` })).statusCode).toBe(201);
    const racing = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createKey(account, { name: `racer${i}` })),
    );
    expect(racing.map((r) => r.statusCode).sort()).toEqual([
      201, 400, 400, 400, 400, 400, 400, 400,
    ]);
    const listed = (await get(t, '/auth/api-keys', account.tokens.accessToken)).json();
    expect(listed).toHaveLength(100);
  });

  it('answers 401 invalid_token, not 500, when the owner was deleted while the request was on its way', async () => {
    const account = await newAccount(t, 'keys-gone');
    await t.db.query('DELETE FROM users WHERE id = $1', [account.id]);
    // The guard let the request in a moment before: the service sees the deletion.
    const creating = t.app
      .get(ApiKeysService)
      .create(
        { userId: account.id, sessionId: undefined, client: { ip: null, userAgent: null } },
        { name: 'late', scopes: [] },
      );
    await expect(creating).rejects.toMatchObject({ code: 'invalid_token' });
    expect(await t.db.query('SELECT 1 FROM api_keys WHERE user_id = $1', [account.id])).toEqual([]);
  });
});
