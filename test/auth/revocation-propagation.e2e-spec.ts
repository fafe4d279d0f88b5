import { createApp } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { loadAppConfig } from '../../src/config/app-config';
import { CacheInvalidationBus } from '../../src/database/cache-invalidation-bus';
import { bearer, newAccount, post, superuserTokens, within } from '../support/auth';
import { createTestApp, testEnvironment, type TestApp } from '../support/test-app';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Two instances of the service on one database, as behind a load balancer. A change made through
 * one must hold on the other within a second, although the other keeps session and user state in
 * memory (it learns of changes through PostgreSQL LISTEN/NOTIFY).
 */
describe('revocation across instances', () => {
  let a: TestApp;
  let b: Awaited<ReturnType<typeof createApp>>;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createApp(loadAppConfig(testEnvironment({ DATABASE_URL: a.db.url })), {
      logger: createLogger('silent'),
    });
    // B serves from its cache only while it listens for changes: make sure that is what is tested.
    await within(5_000, async () => b.get(CacheInvalidationBus).isListening);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /** A GET on B with an access token, or with headers (an API key). */
  const onB = (url: string, credential: string | Record<string, string>) =>
    b
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'GET',
        url,
        headers: typeof credential === 'string' ? bearer(credential) : credential,
      });
  /** Asserts B still accepts, so B has the state cached, then that B refuses within 1 s. */
  async function expectRefusedOnBWithinASecond(
    url: string,
    credential: string | Record<string, string>,
    change: () => Promise<unknown>,
    refused = 401,
  ) {
    expect((await onB(url, credential)).statusCode).toBe(200);
    await change();
    const ms = await within(1_000, async () => (await onB(url, credential)).statusCode === refused);
    expect(ms).toBeLessThan(1_000);
  }

  async function apiKeyOf(accessToken: string): Promise<{ id: string; key: string }> {
    const res = await post(
      a,
      '/auth/api-keys',
      { name: 'ci', scopes: ['users:read'] },
      bearer(accessToken),
    );
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  it('an API key revoked on A', async () => {
    const { tokens } = await newAccount(a);
    const { id, key } = await apiKeyOf(tokens.accessToken);
    await expectRefusedOnBWithinASecond('/users/me', { 'x-api-key': key }, () =>
      a.request({
        method: 'DELETE',
        url: `/auth/api-keys/${id}`,
        headers: bearer(tokens.accessToken),
      }),
    );
  });

  it('the owner of an API key deactivated on A', async () => {
    const account = await newAccount(a);
    const admin = await superuserTokens(a);
    const { key } = await apiKeyOf(account.tokens.accessToken);
    await expectRefusedOnBWithinASecond('/users/me', { 'x-api-key': key }, () =>
      a.request({
        method: 'PATCH',
        url: `/users/${account.id}`,
        payload: { isActive: false },
        headers: bearer(admin.accessToken),
      }),
    );
  });

  it('a logout on A', async () => {
    const { tokens } = await newAccount(a);
    await expectRefusedOnBWithinASecond('/users/me', tokens.accessToken, () =>
      post(a, '/auth/logout', undefined, bearer(tokens.accessToken)),
    );
  });

  it('a theft detection on A (refresh token reuse) kills the session on B', async () => {
    const { tokens } = await newAccount(a);
    await expectRefusedOnBWithinASecond('/users/me', tokens.accessToken, async () => {
      await post(a, '/auth/refresh', { refreshToken: tokens.refreshToken });
      await a.db.query(
        `UPDATE refresh_tokens SET spent_at = now() - interval '1 minute' WHERE spent_at IS NOT NULL`,
      );
      const reuse = await post(a, '/auth/refresh', { refreshToken: tokens.refreshToken });
      expect(reuse.json().code).toBe('refresh_token_reused');
    });
  });

  it('a deactivation by an admin on A', async () => {
    const account = await newAccount(a);
    const admin = await superuserTokens(a);
    await expectRefusedOnBWithinASecond('/users/me', account.tokens.accessToken, () =>
      a.request({
        method: 'PATCH',
        url: `/users/${account.id}`,
        payload: { isActive: false },
        headers: bearer(admin.accessToken),
      }),
    );
  });

  it('a demotion by an admin on A removes superuser access on B', async () => {
    const account = await newAccount(a);
    const admin = await superuserTokens(a);
    await a.request({
      method: 'PATCH',
      url: `/users/${account.id}`,
      payload: { isSuperuser: true },
      headers: bearer(admin.accessToken),
    });
    await expectRefusedOnBWithinASecond(
      '/users',
      account.tokens.accessToken,
      () =>
        a.request({
          method: 'PATCH',
          url: `/users/${account.id}`,
          payload: { isSuperuser: false },
          headers: bearer(admin.accessToken),
        }),
      403,
    );
  });

  it('a deletion by an admin on A', async () => {
    const account = await newAccount(a);
    const admin = await superuserTokens(a);
    await expectRefusedOnBWithinASecond('/users/me', account.tokens.accessToken, () =>
      a.request({
        method: 'DELETE',
        url: `/users/${account.id}`,
        headers: bearer(admin.accessToken),
      }),
    );
  });

  it('an instance whose notification channel goes silent stops trusting its cache within 1 s', async () => {
    // The test database may be reached by a Unix socket (?host=/dir): relay to that, over TCP.
    const viaProxy = new URL(a.db.url);
    const socketDir = viaProxy.searchParams.get('host');
    const proxy = await TcpProxy.start(
      socketDir
        ? { path: `${socketDir}/.s.PGSQL.${viaProxy.port}` }
        : { host: viaProxy.hostname, port: Number(viaProxy.port) },
    );
    viaProxy.searchParams.delete('host');
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const c = await createApp(
      loadAppConfig(testEnvironment({ DATABASE_URL: viaProxy.toString() })),
      { logger: createLogger('silent') },
    );
    try {
      const bus = c.get(CacheInvalidationBus);
      await within(5_000, async () => bus.isListening);
      const { tokens } = await newAccount(a);
      const me = () =>
        c
          .getHttpAdapter()
          .getInstance()
          .inject({
            method: 'GET',
            url: '/users/me',
            headers: bearer(tokens.accessToken),
          });
      expect((await me()).statusCode).toBe(200);
      // The network path to the database drops everything, without an error or a closed socket:
      // a logout elsewhere cannot reach C, so C must stop answering from its cache.
      proxy.freeze();
      await post(a, '/auth/logout', undefined, bearer(tokens.accessToken));
      const ms = await within(1_000, async () => !bus.isListening);
      expect(ms).toBeLessThan(1_000);
      const res = await me();
      expect(res.statusCode).toBe(503);
    } finally {
      await proxy.close();
      await c.close();
    }
  });
});
