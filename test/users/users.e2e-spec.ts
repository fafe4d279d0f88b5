import {
  bearer,
  get,
  login,
  newAccount,
  post,
  refresh,
  superuserTokens,
  uniqueEmail,
  within,
  type TokenPair,
} from '../support/auth';
import { AuditLog } from '../../src/audit/audit-log.service';
import { openTransaction, untilWaitingOnLocks, waitingOnLocks } from '../support/locks';
import { createTestApp, TEST_SUPERUSER, type TestApp } from '../support/test-app';

describe('users API', () => {
  let t: TestApp;
  let admin: TokenPair;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await superuserTokens(t);
  });
  afterAll(() => t.close());

  const patch = (url: string, payload: object, accessToken: string) =>
    t.request({ method: 'PATCH', url, payload, headers: bearer(accessToken) });
  const del = (url: string, accessToken: string) =>
    t.request({ method: 'DELETE', url, headers: bearer(accessToken) });

  describe('/users/me', () => {
    it('GET returns the current user; without a token it is 401 invalid_token', async () => {
      const account = await newAccount(t);
      const me = await get(t, '/users/me', account.tokens.accessToken);
      expect(me.json()).toMatchObject({ id: account.id, email: account.email, isSuperuser: false });
      const anonymous = await get(t, '/users/me');
      expect(anonymous.statusCode).toBe(401);
      // RFC 6750 §3.1: no error code when no credentials were sent; one when a token was refused.
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      expect(anonymous.json()).toMatchObject({ code: 'invalid_token' });
      const refused = await get(t, '/users/me', 'not-a-token');
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      const challenge = async (headers: Record<string, string>, url = '/users/me') => {
        const res = await t.request({ method: url === '/users/me' ? 'GET' : 'POST', url, headers });
        return [res.statusCode, res.headers['www-authenticate']];
      };
      expect(await challenge({ 'x-api-key': 'ak_not-a-key' })).toEqual([
        401,
        'Bearer error="invalid_token"',
      ]);
      // Another scheme is no bearer credential; nor is nothing, where logout answers the 401.
      expect(await challenge({ authorization: 'Basic YTpi' })).toEqual([401, 'Bearer']);
      // A key beside an Authorization header is not read (the header is), so not refused.
      expect(await challenge({ authorization: 'Basic YTpi', 'x-api-key': 'ak_not-a-key' })).toEqual(
        [401, 'Bearer'],
      );
      expect(await challenge({}, '/auth/logout')).toEqual([401, 'Bearer']);
      // Logout reads no keys: a good key is not refused there, it identifies no session.
      const key = await t.request({
        method: 'POST',
        url: '/auth/api-keys',
        headers: bearer(account.tokens.accessToken),
        payload: { name: 'ci', scopes: ['users:read'] },
      });
      expect(key.statusCode).toBe(201);
      expect(await challenge({ 'x-api-key': key.json().key })).toEqual([200, undefined]);
      const withKey = await t.request({
        method: 'POST',
        url: '/auth/logout',
        headers: { 'x-api-key': key.json().key },
      });
      expect([withKey.statusCode, withKey.headers['www-authenticate']]).toEqual([401, 'Bearer']);
      expect(withKey.json().detail).toMatch(/API key cannot log out/);
    });

    it('PATCH changes the name and the email (canonical form)', async () => {
      const account = await newAccount(t);
      const email = uniqueEmail('renamed');
      const res = await patch(
        '/users/me',
        { fullName: 'New Name', email: email.toUpperCase() },
        account.tokens.accessToken,
      );
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ fullName: 'New Name', email });
      expect((await get(t, '/users/me', account.tokens.accessToken)).json()).toMatchObject({
        fullName: 'New Name',
        email,
      });
      expect((await post(t, '/auth/login', { email, password: account.password })).statusCode).toBe(
        200,
      );
    });

    it.each([
      ['PATCH', '/users/me', { fullName: 'too late' }, 'UPDATE "public"."users"'],
      [
        'POST',
        '/users/me/password',
        { currentPassword: '', newPassword: 'a brand new password' },
        'UPDATE "public"."users"',
      ],
    ] as const)(
      '%s %s racing the deletion of the caller: 401 invalid_token, not 404 or 400',
      async (method, url, body, waitingStatement) => {
        // The test deletes the user in a transaction it holds open until the request waits for it.
        const account = await newAccount(t, 'me-deleted');
        const payload =
          'currentPassword' in body ? { ...body, currentPassword: account.password } : body;
        const holder = await openTransaction(t, 'DELETE FROM users WHERE id = $1', [account.id]);
        try {
          const answer = t.request({
            method,
            url,
            payload,
            headers: bearer(account.tokens.accessToken),
          });
          await untilWaitingOnLocks(t, 1, waitingStatement);
          await holder.query('COMMIT');
          const res = await answer;
          expect(res.statusCode).toBe(401);
          expect(res.json().code).toBe('invalid_token');
          expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
        } finally {
          await holder.end();
        }
      },
    );

    it('PATCH to a taken email is 409 email_taken', async () => {
      const [a, b] = [await newAccount(t), await newAccount(t)];
      const res = await patch('/users/me', { email: b.email }, a.tokens.accessToken);
      expect(res.json()).toMatchObject({ status: 409, code: 'email_taken' });
    });

    it.each([
      { isSuperuser: true },
      { roles: ['admin'] },
      { isActive: false },
      { password: 'new-password' },
    ])(
      'PATCH refuses the privileged field %j with 400 validation_failed and changes nothing',
      async (body) => {
        const account = await newAccount(t);
        const res = await patch('/users/me', body, account.tokens.accessToken);
        expect(res.json()).toMatchObject({ status: 400, code: 'validation_failed' });
        expect((await get(t, '/users/me', account.tokens.accessToken)).json()).toMatchObject({
          isSuperuser: false,
          roles: [],
          isActive: true,
        });
      },
    );
  });

  describe('admin routes', () => {
    it.each([
      ['GET', '/users'],
      ['POST', '/users'],
      ['GET', '/users/00000000-0000-7000-8000-000000000000'],
      ['PATCH', '/users/00000000-0000-7000-8000-000000000000'],
      ['DELETE', '/users/00000000-0000-7000-8000-000000000000'],
    ] as const)('%s %s is 403 forbidden for an ordinary user', async (method, url) => {
      const account = await newAccount(t);
      const res = await t.request({
        method,
        url,
        headers: bearer(account.tokens.accessToken),
        payload: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      expect(res.json()).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('lists users newest first, with offset, limit, search and a total count', async () => {
      const marker = `zz${Date.now()}`;
      for (let i = 0; i < 3; i++) {
        await post(
          t,
          '/users',
          { email: `${marker}-${i}@example.com`, password: 'long-enough' },
          bearer(admin.accessToken),
        );
      }
      const page = await get(t, `/users?search=${marker}&limit=2&offset=0`, admin.accessToken);
      expect(page.statusCode).toBe(200);
      expect(page.json().count).toBe(3);
      expect(page.json().data.map((u: { email: string }) => u.email)).toEqual([
        `${marker}-2@example.com`,
        `${marker}-1@example.com`,
      ]);
      const next = await get(
        t,
        `/users?search=${marker.toUpperCase()}&limit=2&offset=2`,
        admin.accessToken,
      );
      expect(next.json()).toEqual({
        count: 3,
        data: [expect.objectContaining({ email: `${marker}-0@example.com` })],
      });
      const all = await get(t, '/users', admin.accessToken);
      expect(all.json().data.length).toBeLessThanOrEqual(50);
    });

    it('searches for the text as written: % _ and \\ are not wildcards', async () => {
      const marker = `lit${Date.now()}`;
      const names = ['a_b', 'aqb', '50%', '50x', 'back\\slash', 'backslash'];
      for (const [i, name] of names.entries()) {
        const res = await post(
          t,
          '/users',
          {
            email: `${marker}-${i}@example.com`,
            password: 'long-enough',
            fullName: `${marker} ${name}`,
          },
          bearer(admin.accessToken),
        );
        expect(res.statusCode).toBe(201);
      }
      const found = async (text: string) =>
        (await get(t, `/users?search=${encodeURIComponent(text)}`, admin.accessToken))
          .json()
          .data.map((user: { fullName: string }) => user.fullName);
      expect(await found(`${marker} a_b`)).toEqual([`${marker} a_b`]);
      expect(await found(`${marker} 50%`)).toEqual([`${marker} 50%`]);
      expect(await found(`${marker} back\\slash`)).toEqual([`${marker} back\\slash`]);
      expect(await found('_')).not.toContain(`${marker} aqb`);
    });

    it.each([
      'limit=0',
      'limit=101',
      'limit=abc',
      'offset=-1',
      'sort=email',
      'limit=0x10',
      'limit=1e1',
      'limit=%205',
      'offset=',
      'limit=2.0',
      'limit=10&limit=20',
    ])('refuses the query %s with 400 validation_failed', async (query) => {
      const res = await get(t, `/users?${query}`, admin.accessToken);
      expect(res.json()).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('takes decimal digits in the query, leading zeros too', async () => {
      const res = await get(t, '/users?limit=007&offset=00', admin.accessToken);
      expect(res.statusCode).toBe(200);
      expect(res.json().data.length).toBeLessThanOrEqual(7);
      const [tooSmall, hex] = await Promise.all(
        ['limit=0', 'limit=0x10'].map((query) => get(t, `/users?${query}`, admin.accessToken)),
      );
      expect(tooSmall.json().errors).toEqual([{ field: 'limit', message: 'must be at least 1' }]);
      expect(hex.json().errors).toEqual([
        { field: 'limit', message: 'must be a whole number, in decimal digits' },
      ]);
    });

    it('creates a user with roles and flags; a taken email is 409, a weak password 400', async () => {
      const email = uniqueEmail('created');
      const res = await post(
        t,
        '/users',
        {
          email,
          password: 'long-enough',
          fullName: 'C',
          isSuperuser: true,
          roles: ['billing', 'billing', 'support'],
        },
        bearer(admin.accessToken),
      );
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        email,
        isSuperuser: true,
        isActive: true,
        roles: ['billing', 'support'],
      });
      expect(
        (
          await post(t, '/users', { email, password: 'long-enough' }, bearer(admin.accessToken))
        ).json(),
      ).toMatchObject({ status: 409, code: 'email_taken' });
      expect(
        (
          await post(
            t,
            '/users',
            { email: uniqueEmail(), password: 'short' },
            bearer(admin.accessToken),
          )
        ).json(),
      ).toMatchObject({ status: 400, code: 'weak_password' });
      expect(
        (
          await post(
            t,
            '/users',
            { email: uniqueEmail(), password: 'long-enough', roles: ['Not Valid!'] },
            bearer(admin.accessToken),
          )
        ).json(),
      ).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('counts distinct roles against the limit of 32: repeats are dropped first', async () => {
      const repeated = await post(
        t,
        '/users',
        { email: uniqueEmail(), password: 'long-enough', roles: Array(40).fill('ops') },
        bearer(admin.accessToken),
      );
      expect([repeated.statusCode, repeated.json().roles]).toEqual([201, ['ops']]);
      const tooMany = await post(
        t,
        '/users',
        {
          email: uniqueEmail(),
          password: 'long-enough',
          roles: Array.from({ length: 33 }, (_, i) => `role-${i}`),
        },
        bearer(admin.accessToken),
      );
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json().errors).toEqual([
        { field: 'roles', message: 'at most 32 different roles' },
      ]);
    });

    it('reads one user; an unknown or malformed id is 404', async () => {
      const account = await newAccount(t);
      expect((await get(t, `/users/${account.id}`, admin.accessToken)).json()).toMatchObject({
        id: account.id,
      });
      expect(
        (await get(t, '/users/00000000-0000-7000-8000-000000000000', admin.accessToken)).statusCode,
      ).toBe(404);
      expect((await get(t, '/users/1%20OR%201=1', admin.accessToken)).statusCode).toBe(404);
      // Ids no UUID check sees: refused by the string checks and the router before it.
      for (const id of ['%00', 'a'.repeat(101)]) {
        const res = await get(t, `/users/${id}`, admin.accessToken);
        expect([id, res.statusCode, res.json().code]).toEqual([id, 404, 'not_found']);
      }
      // Not a URL at all: 400, saying why.
      const malformed = await get(t, '/users/%ZZ', admin.accessToken);
      expect([malformed.statusCode, malformed.json().detail]).toEqual([
        400,
        'The URL is not valid (a malformed percent-encoding)',
      ]);
      // So is a query string that does not decode: a bad escape, or escapes that are not UTF-8
      // (an encoded lone surrogate, an overlong form), on any route.
      for (const url of [
        '/users?search=%zz',
        '/users?search=%2',
        '/users?search=%ED%A0%80',
        '/users?search=%C0%AF',
        '/users?limit=5&search=a%E2%82&x=%AC',
        '/users/me?x=%',
      ]) {
        const res = await get(t, url, admin.accessToken);
        expect([url, res.statusCode, res.json().detail]).toEqual([
          url,
          400,
          malformed.json().detail,
        ]);
      }
      for (const url of ['/users?search=%C3%A9', '/users?search=100%25', '/users?search=a+b']) {
        expect([url, (await get(t, url, admin.accessToken)).statusCode]).toEqual([url, 200]);
      }
    });

    it('updates a user; roles and superuser changes apply to their existing tokens at once', async () => {
      const account = await newAccount(t);
      const promoted = await patch(
        `/users/${account.id}`,
        { isSuperuser: true, roles: ['ops'] },
        admin.accessToken,
      );
      expect(promoted.json()).toMatchObject({ isSuperuser: true, roles: ['ops'] });
      // The token the user already holds now reaches admin routes…
      expect((await get(t, '/users', account.tokens.accessToken)).statusCode).toBe(200);
      // …and no longer once demoted.
      await patch(`/users/${account.id}`, { isSuperuser: false }, admin.accessToken);
      expect((await get(t, '/users', account.tokens.accessToken)).statusCode).toBe(403);
    });

    it('deactivating a user revokes all their sessions; reactivating does not revive them', async () => {
      const account = await newAccount(t);
      const second = await login(t, account.email, account.password);
      expect(
        (await patch(`/users/${account.id}`, { isActive: false }, admin.accessToken)).statusCode,
      ).toBe(200);
      for (const tokens of [account.tokens, second]) {
        expect((await get(t, '/users/me', tokens.accessToken)).statusCode).toBe(401);
        expect((await refresh(t, tokens.refreshToken)).statusCode).toBe(401);
      }
      await patch(`/users/${account.id}`, { isActive: true }, admin.accessToken);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect(
        (await post(t, '/auth/login', { email: account.email, password: account.password }))
          .statusCode,
      ).toBe(200);
    });

    it('setting a password revokes the user’s sessions', async () => {
      const account = await newAccount(t);
      await patch(`/users/${account.id}`, { password: 'set-by-an-admin' }, admin.accessToken);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect(
        (await post(t, '/auth/login', { email: account.email, password: 'set-by-an-admin' }))
          .statusCode,
      ).toBe(200);
    });

    it('PATCH with no field changes nothing: same user, same updatedAt, no audit event', async () => {
      const account = await newAccount(t, 'unchanged');
      const before = (await get(t, '/users/me', account.tokens.accessToken)).json();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const own = await patch('/users/me', {}, account.tokens.accessToken);
      const byAdmin = await patch(`/users/${account.id}`, {}, admin.accessToken);
      expect([own.statusCode, own.json()]).toEqual([200, before]);
      expect([byAdmin.statusCode, byAdmin.json()]).toEqual([200, before]);
      await t.app.get(AuditLog).flush();
      const rows = await t.db.query(
        `SELECT count(*)::int AS count FROM audit_events WHERE user_id = $1 AND type = 'user_updated'`,
        [account.id],
      );
      expect(rows).toEqual([{ count: 0 }]);
      const unknown = '/users/00000000-0000-7000-8000-000000000000';
      expect((await patch(unknown, {}, admin.accessToken)).statusCode).toBe(404);
    });

    it('PATCH: unknown id 404, taken email 409, unknown field 400', async () => {
      const [a, b] = [await newAccount(t), await newAccount(t)];
      expect(
        (
          await patch(
            '/users/00000000-0000-7000-8000-000000000000',
            { fullName: 'x' },
            admin.accessToken,
          )
        ).statusCode,
      ).toBe(404);
      expect(
        (await patch(`/users/${a.id}`, { email: b.email }, admin.accessToken)).json(),
      ).toMatchObject({ code: 'email_taken' });
      expect(
        (await patch(`/users/${a.id}`, { passwordHash: 'x' }, admin.accessToken)).json(),
      ).toMatchObject({ code: 'validation_failed' });
    });

    it('refuses to let a superuser demote or deactivate itself (403), changing nothing', async () => {
      const me = (await get(t, '/users/me', admin.accessToken)).json();
      for (const change of [
        { isSuperuser: false },
        { isActive: false },
        { isActive: false, fullName: 'x' },
      ]) {
        const res = await patch(`/users/${me.id}`, change, admin.accessToken);
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ code: 'forbidden' });
      }
      const after = (await get(t, '/users/me', admin.accessToken)).json();
      expect(after).toMatchObject({ isSuperuser: true, isActive: true, fullName: me.fullName });
      // Other changes to oneself stay allowed.
      const renamed = await patch(`/users/${me.id}`, { isSuperuser: true }, admin.accessToken);
      expect(renamed.statusCode).toBe(200);
    });

    it.each([
      [
        'demote',
        (id: string, token: string) => patch(`/users/${id}`, { isSuperuser: false }, token),
      ],
      [
        'deactivate',
        (id: string, token: string) => patch(`/users/${id}`, { isActive: false }, token),
      ],
      ['delete', (id: string, token: string) => del(`/users/${id}`, token)],
    ])(
      'two superusers who %s each other at the same moment: one change goes through, the other is 403',
      async (_label, act) => {
        // Both pass the guard; a lock the test holds on their rows makes both changes wait, so
        // that neither has committed when the other starts.
        const [first, second] = await Promise.all([newAccount(t, 'su-a'), newAccount(t, 'su-b')]);
        for (const account of [first, second]) {
          const promoted = await patch(
            `/users/${account.id}`,
            { isSuperuser: true },
            admin.accessToken,
          );
          expect(promoted.statusCode).toBe(200);
        }
        const holder = await openTransaction(
          t,
          'SELECT 1 FROM users WHERE id = ANY($1::uuid[]) FOR UPDATE',
          [[first.id, second.id]],
        );
        try {
          const answers = Promise.all([
            act(second.id, first.tokens.accessToken),
            act(first.id, second.tokens.accessToken),
          ]);
          await untilWaitingOnLocks(t, 2);
          await holder.query('COMMIT');
          const statuses = (await answers).map((res) => res.statusCode).sort();
          expect(statuses[0]).toBeLessThan(300);
          expect(statuses[1]).toBe(403);
          const [{ n }] = await t.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM users
              WHERE id = ANY($1::uuid[]) AND is_superuser AND is_active`,
            [[first.id, second.id]],
          );
          expect(n).toBe(1);
        } finally {
          await holder.end();
        }
      },
    );

    it('refuses (403) a user creation whose superuser is demoted while it is on its way, creating nothing', async () => {
      // The guard let the request through; the demotion, held open by the test, commits first.
      const creator = await newAccount(t, 'su-creator');
      const promoted = await patch(
        `/users/${creator.id}`,
        { isSuperuser: true },
        admin.accessToken,
      );
      expect(promoted.statusCode).toBe(200);
      const email = uniqueEmail('made-by-demoted');
      const holder = await openTransaction(
        t,
        'UPDATE users SET is_superuser = false WHERE id = $1',
        [creator.id],
      );
      let created: Awaited<ReturnType<typeof post>>;
      try {
        const creation = post(
          t,
          '/users',
          { email, password: 'a long enough password', isSuperuser: true },
          bearer(creator.tokens.accessToken),
        );
        // Waiting for the demotion, or (before the fix) already done.
        let settled = false;
        void creation.finally(() => (settled = true));
        await within(5_000, async () => settled || (await waitingOnLocks(t)) >= 1);
        await holder.query('COMMIT');
        created = await creation;
      } finally {
        await holder.end();
      }
      expect([created.statusCode, created.json().code]).toEqual([403, 'forbidden']);
      expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
    });

    it('deletes a user with their sessions and tokens; not yourself (403 cannot_delete_self); unknown is 404', async () => {
      const account = await newAccount(t);
      expect((await del(`/users/${account.id}`, admin.accessToken)).statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, account.tokens.refreshToken)).statusCode).toBe(401);
      expect(
        await t.db.query(
          'SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.id = $1',
          [account.id],
        ),
      ).toEqual([]);
      expect((await del(`/users/${account.id}`, admin.accessToken)).statusCode).toBe(404);
      const me = (await get(t, '/users/me', admin.accessToken)).json();
      const self = await del(`/users/${me.id}`, admin.accessToken);
      expect(self.json()).toMatchObject({ status: 403, code: 'cannot_delete_self' });
      expect(
        (
          await post(t, '/auth/login', {
            email: TEST_SUPERUSER.email,
            password: TEST_SUPERUSER.password,
          })
        ).statusCode,
      ).toBe(200);
    });
  });
});
