import {
  bearer,
  decodeJwt,
  get,
  login,
  newAccount,
  post,
  refresh,
  superuserTokens,
} from '../support/auth';
import { connect, type AddressInfo } from 'node:net';
import { createTestApp, type TestApp } from '../support/test-app';

describe('sessions, logout and password change', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const del = (url: string, accessToken: string) =>
    t.request({ method: 'DELETE', url, headers: bearer(accessToken) });

  let listening: Promise<number> | undefined;
  /**
   * Sends `request` (the bytes of one HTTP request, asking to close the connection) over a real
   * socket, for what inject cannot send: chunked bodies, header bytes as they are on the wire.
   * Answers the response's status.
   */
  async function rawStatus(request: Buffer | string): Promise<number> {
    listening ??= t.app
      .listen({ port: 0, host: '127.0.0.1' })
      .then(() => (t.app.getHttpServer().address() as AddressInfo).port);
    const port = await listening;
    return new Promise<number>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(Number(answer.split(' ')[1])));
      socket.on('error', reject);
    });
  }

  describe('POST /auth/logout', () => {
    it('with a bearer token: 204, that session ends (access and refresh tokens), others stay', async () => {
      const account = await newAccount(t);
      const other = await login(t, account.email, account.password);
      const res = await post(t, '/auth/logout', undefined, bearer(account.tokens.accessToken));
      expect(res.statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, account.tokens.refreshToken)).json()).toMatchObject({
        code: 'invalid_refresh_token',
      });
      expect((await get(t, '/users/me', other.accessToken)).statusCode).toBe(200);
    });

    it('with a refresh token in the body: 204, that session ends', async () => {
      const account = await newAccount(t);
      const res = await post(t, '/auth/logout', { refreshToken: account.tokens.refreshToken });
      expect(res.statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
    });

    it('with a valid bearer beside a refresh token: 204, the bearer’s session ends, the body is not read', async () => {
      const account = await newAccount(t);
      const other = await newAccount(t);
      const res = await post(
        t,
        '/auth/logout',
        { refreshToken: other.tokens.refreshToken },
        bearer(account.tokens.accessToken),
      );
      expect(res.statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, other.tokens.refreshToken)).statusCode).toBe(200);
    });

    it('with an expired or revoked bearer beside a refresh token: 204, the refresh token’s session ends', async () => {
      const account = await newAccount(t);
      const stale = account.tokens.accessToken;
      expect((await post(t, '/auth/logout', undefined, bearer(stale))).statusCode).toBe(204);
      const again = await login(t, account.email, account.password);
      const res = await post(
        t,
        '/auth/logout',
        { refreshToken: again.refreshToken },
        bearer(stale),
      );
      expect(res.statusCode).toBe(204);
      expect((await get(t, '/users/me', again.accessToken)).statusCode).toBe(401);
    });

    it.each([
      ['nothing', undefined, {}, 'invalid_token'],
      ['a bad bearer token', undefined, bearer('not.a.jwt'), 'invalid_token'],
      [
        'an unknown refresh token',
        { refreshToken: `rt_${'B'.repeat(43)}` },
        {},
        'invalid_refresh_token',
      ],
      [
        'a refresh token holding a NUL',
        { refreshToken: `rt_${'B'.repeat(21)}\u0000${'B'.repeat(21)}` },
        {},
        'invalid_refresh_token',
      ],
      [
        'an overlong refresh token',
        { refreshToken: `rt_${'B'.repeat(5000)}` },
        {},
        'invalid_refresh_token',
      ],
    ])('with %s: 401', async (_label, body, headers, code) => {
      const res = await post(t, '/auth/logout', body, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe(code);
    });
  });

  it.each(['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded'])(
    'body-less endpoints accept an empty body sent as %s (fetch, curl -d ""), and refuse a non-empty one with 415',
    async (contentType) => {
      const account = await newAccount(t);
      const second = await login(t, account.email, account.password);
      const send = (method: 'POST' | 'DELETE', url: string, accessToken: string, payload = '') =>
        t.request({
          method,
          url,
          headers: {
            ...bearer(accessToken),
            'content-type': contentType,
            'content-length': String(payload.length),
          },
          payload,
        });
      // Sent chunked, or with no length at all: empty too.
      for (const framing of ['Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', '\r\n']) {
        const third = await login(t, account.email, account.password);
        const status = await rawStatus(
          `POST /auth/logout HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${third.accessToken}\r\n` +
            `Content-Type: ${contentType}\r\nConnection: close\r\n${framing}`,
        );
        expect([JSON.stringify(framing), status]).toEqual([JSON.stringify(framing), 204]);
      }
      // An unknown route stays 404, whatever its body (not JSON, even where it says it is).
      for (const type of [contentType, 'application/json']) {
        const unknown = await t.request({
          method: 'POST',
          url: '/auth/nowhere',
          headers: { 'content-type': type },
          payload: 'a=1',
        });
        expect([type, unknown.statusCode]).toEqual([type, 404]);
      }
      const refused = await send('POST', '/auth/logout', second.accessToken, 'a=1');
      expect([refused.statusCode, refused.json().code]).toEqual([415, 'unsupported_media_type']);
      expect((await get(t, '/users/me', second.accessToken)).statusCode).toBe(200);
      const secondSession = decodeJwt(second.accessToken).payload.sid as string;
      expect(
        (await send('DELETE', `/auth/sessions/${secondSession}`, account.tokens.accessToken))
          .statusCode,
      ).toBe(204);
      expect((await get(t, '/users/me', second.accessToken)).statusCode).toBe(401);
      expect((await send('POST', '/auth/logout', account.tokens.accessToken)).statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
    },
  );

  it('body-less endpoints accept an empty body sent as application/json (many clients do)', async () => {
    const account = await newAccount(t);
    const second = await login(t, account.email, account.password);
    const third = await login(t, account.email, account.password);
    const emptyJson = (method: 'POST' | 'DELETE', url: string, accessToken: string) =>
      t.request({
        method,
        url,
        headers: { ...bearer(accessToken), 'content-type': 'application/json' },
        payload: '',
      });
    const secondSession = decodeJwt(second.accessToken).payload.sid as string;
    expect(
      (await emptyJson('DELETE', `/auth/sessions/${secondSession}`, account.tokens.accessToken))
        .statusCode,
    ).toBe(204);
    expect((await emptyJson('POST', '/auth/logout', third.accessToken)).statusCode).toBe(204);
    // `{}` with a bearer token too, as on every endpoint that takes no body.
    const fourth = await login(t, account.email, account.password);
    expect((await post(t, '/auth/logout', {}, bearer(fourth.accessToken))).statusCode).toBe(204);
    expect((await get(t, '/users/me', fourth.accessToken)).statusCode).toBe(401);
    expect((await post(t, '/auth/logout', {})).json().code).toBe('invalid_token');
    expect((await get(t, '/users/me', third.accessToken)).statusCode).toBe(401);
    expect(
      (await emptyJson('POST', '/auth/logout-all', account.tokens.accessToken)).statusCode,
    ).toBe(204);
    for (const tokens of [account.tokens, second]) {
      expect((await get(t, '/users/me', tokens.accessToken)).statusCode).toBe(401);
    }
  });

  it('body-less endpoints refuse a body with fields (400 validation_failed listing them), changing nothing', async () => {
    const account = await newAccount(t);
    const admin = await superuserTokens(t);
    const other = await newAccount(t, 'kept');
    const key = (
      await post(t, '/auth/api-keys', { name: 'kept' }, bearer(account.tokens.accessToken))
    ).json();
    const sid = decodeJwt(account.tokens.accessToken).payload.sid as string;
    const cases: [string, string, string][] = [
      ['POST', '/auth/logout-all', account.tokens.accessToken],
      ['DELETE', `/auth/sessions/${sid}`, account.tokens.accessToken],
      ['DELETE', `/auth/api-keys/${key.id}`, account.tokens.accessToken],
      ['DELETE', `/users/${other.id}`, admin.accessToken],
    ];
    for (const [method, url, accessToken] of cases) {
      for (const [payload, fields] of [
        [{ everywhere: true }, ['everywhere']],
        [[1], ['']],
      ] as const) {
        const res = await t.request({
          method,
          url,
          headers: bearer(accessToken),
          payload,
        });
        expect([url, res.statusCode, res.json().code]).toEqual([url, 400, 'validation_failed']);
        expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(fields);
      }
    }
    // Nothing happened: the session, the key and the other user are all still there.
    expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(200);
    expect((await get(t, '/auth/api-keys', account.tokens.accessToken)).json()).toHaveLength(1);
    expect((await get(t, '/users/me', other.tokens.accessToken)).statusCode).toBe(200);
    // An empty object is no body at all.
    const empty = await t.request({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(account.tokens.accessToken),
      payload: {},
    });
    expect(empty.statusCode).toBe(204);
  });

  it('POST /auth/logout-all ends every session of the user', async () => {
    const account = await newAccount(t);
    const second = await login(t, account.email, account.password);
    const bystander = await newAccount(t);
    expect(
      (await post(t, '/auth/logout-all', undefined, bearer(account.tokens.accessToken))).statusCode,
    ).toBe(204);
    for (const tokens of [account.tokens, second]) {
      expect((await get(t, '/users/me', tokens.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, tokens.refreshToken)).statusCode).toBe(401);
    }
    expect((await get(t, '/users/me', bystander.tokens.accessToken)).statusCode).toBe(200);
    expect((await post(t, '/auth/logout-all')).statusCode).toBe(401);
  });

  describe('GET /auth/sessions and DELETE /auth/sessions/:id', () => {
    it('lists active sessions, newest use first, marking the current one', async () => {
      const account = await newAccount(t);
      const second = await login(t, account.email, account.password);
      const ended = await login(t, account.email, account.password);
      await post(t, '/auth/logout', undefined, bearer(ended.accessToken));
      const res = await t.request({
        method: 'GET',
        url: '/auth/sessions',
        headers: { ...bearer(second.accessToken), 'user-agent': 'test-agent/1.0' },
      });
      expect(res.statusCode).toBe(200);
      const sessions = res.json();
      expect(sessions).toHaveLength(2);
      expect(sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(sessions[0]).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        expiresAt: expect.any(String),
        userAgent: expect.any(String),
        ip: '127.0.0.1',
        current: expect.any(Boolean),
      });
    });

    it('records a User-Agent sent in UTF-8 as its text (Node reads header bytes as Latin-1)', async () => {
      const account = await newAccount(t);
      /** Logs in over a real socket, with the User-Agent's bytes as given. */
      const loginWithAgent = (agent: Buffer) => {
        const body = JSON.stringify({ email: account.email, password: account.password });
        return rawStatus(
          Buffer.concat([
            Buffer.from('POST /auth/login HTTP/1.1\r\nHost: x\r\nUser-Agent: '),
            agent,
            Buffer.from(
              `\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
                `Connection: close\r\n\r\n${body}`,
            ),
          ]),
        );
      };
      expect(await loginWithAgent(Buffer.from('Café-App/1.0 (日本)', 'utf8'))).toBe(200);
      // Not UTF-8: read as Latin-1, as HTTP has it.
      expect(await loginWithAgent(Buffer.from('Caf\xe9-Legacy/2.0', 'latin1'))).toBe(200);
      const agents = (await get(t, '/auth/sessions', account.tokens.accessToken))
        .json()
        .map((session: { userAgent: string }) => session.userAgent);
      expect(agents).toEqual(expect.arrayContaining(['Café-App/1.0 (日本)', 'Café-Legacy/2.0']));
    });

    it('revokes one of your sessions; another user’s, an unknown or a malformed id is 404', async () => {
      const account = await newAccount(t);
      const second = await login(t, account.email, account.password);
      const stranger = await newAccount(t);
      const [strangerSession] = (
        await get(t, '/auth/sessions', stranger.tokens.accessToken)
      ).json();
      const mine = (await get(t, '/auth/sessions', account.tokens.accessToken)).json();
      const other = mine.find((s: { current: boolean }) => !s.current);

      expect(
        (await del(`/auth/sessions/${strangerSession.id}`, account.tokens.accessToken)).json(),
      ).toMatchObject({
        status: 404,
        code: 'not_found',
      });
      expect((await get(t, '/users/me', stranger.tokens.accessToken)).statusCode).toBe(200);
      expect(
        (
          await del(
            '/auth/sessions/00000000-0000-7000-8000-000000000000',
            account.tokens.accessToken,
          )
        ).statusCode,
      ).toBe(404);
      expect((await del('/auth/sessions/not-an-id', account.tokens.accessToken)).statusCode).toBe(
        404,
      );

      expect((await del(`/auth/sessions/${other.id}`, account.tokens.accessToken)).statusCode).toBe(
        204,
      );
      expect((await get(t, '/users/me', second.accessToken)).statusCode).toBe(401);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(200);
      expect((await del(`/auth/sessions/${other.id}`, account.tokens.accessToken)).statusCode).toBe(
        404,
      );
    });
  });

  describe('POST /users/me/password', () => {
    const change = (accessToken: string, body: object) =>
      post(t, '/users/me/password', body, bearer(accessToken));

    it('changes the password and revokes the other sessions, keeping this one', async () => {
      const account = await newAccount(t);
      const other = await login(t, account.email, account.password);
      const res = await change(account.tokens.accessToken, {
        currentPassword: account.password,
        newPassword: 'a-brand-new-password',
      });
      expect(res.statusCode).toBe(204);
      expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(200);
      expect((await get(t, '/users/me', other.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, other.refreshToken)).statusCode).toBe(401);
      expect(
        (await post(t, '/auth/login', { email: account.email, password: account.password }))
          .statusCode,
      ).toBe(401);
      expect(
        (await post(t, '/auth/login', { email: account.email, password: 'a-brand-new-password' }))
          .statusCode,
      ).toBe(200);
    });

    it('refuses a wrong current password (400 invalid_current_password) and changes nothing', async () => {
      const account = await newAccount(t);
      const res = await change(account.tokens.accessToken, {
        currentPassword: 'wrong-one',
        newPassword: 'another-password',
      });
      expect(res.json()).toMatchObject({ status: 400, code: 'invalid_current_password' });
      expect(
        (await post(t, '/auth/login', { email: account.email, password: account.password }))
          .statusCode,
      ).toBe(200);
    });

    it('refuses a weak new password (400 weak_password)', async () => {
      const account = await newAccount(t);
      const res = await change(account.tokens.accessToken, {
        currentPassword: account.password,
        newPassword: 'short',
      });
      expect(res.json()).toMatchObject({ status: 400, code: 'weak_password' });
    });

    it('answers a new password of any length beyond the limit with weak_password too', async () => {
      const account = await newAccount(t);
      const res = await change(account.tokens.accessToken, {
        currentPassword: account.password,
        newPassword: 'x'.repeat(5000),
      });
      expect(res.json()).toMatchObject({ status: 400, code: 'weak_password' });
    });
  });
});
