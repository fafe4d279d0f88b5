import { createPublicKey } from 'node:crypto';
import { verify } from 'jsonwebtoken';
import { jwkThumbprint } from '../../src/auth/tokens/jwt-keys';
import { generateSigningKeyPair } from '../../src/common/signing-keys';
import { loadAppConfig } from '../../src/config/app-config';
import { createApp } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import type { InjectOptions } from 'light-my-request';
import { decodeJwt, get, login, newAccount } from '../support/auth';
import { createTestApp, testEnvironment, type TestApp } from '../support/test-app';

describe('GET /.well-known/jwks.json and key rotation', () => {
  it('is empty for HS256', async () => {
    const t = await createTestApp();
    try {
      const res = await get(t, '/.well-known/jwks.json');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ keys: [] });
    } finally {
      await t.close();
    }
  });

  it.each(['RS256', 'ES256'] as const)(
    '%s: publishes the signing key (kid = RFC 7638 thumbprint) so others can verify our tokens',
    async (alg) => {
      const { privateKey } = generateSigningKeyPair(alg);
      const t = await createTestApp({ JWT_ALGORITHM: alg, JWT_PRIVATE_KEY: privateKey });
      try {
        const { keys } = (await get(t, '/.well-known/jwks.json')).json();
        expect(keys).toHaveLength(1);
        const [jwk] = keys;
        expect(jwk).toMatchObject({
          alg,
          use: 'sig',
          kid: jwkThumbprint(createPublicKey(privateKey)),
        });
        expect(jwk).not.toHaveProperty('d');
        const { tokens } = await newAccount(t);
        expect(decodeJwt(tokens.accessToken).header.kid).toBe(jwk.kid);
        // A relying party verifies with nothing but the JWKS.
        const key = createPublicKey({ key: jwk, format: 'jwk' });
        expect(() =>
          verify(tokens.accessToken, key, {
            algorithms: [alg],
            issuer: 'auth-service',
            audience: 'auth-service',
          }),
        ).not.toThrow();
      } finally {
        await t.close();
      }
    },
  );

  it('after a rotation, keeps accepting tokens signed with a key listed in JWT_PREVIOUS_PUBLIC_KEYS', async () => {
    const before = generateSigningKeyPair('ES256');
    const after = generateSigningKeyPair('ES256');
    const old = await createTestApp({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: before.privateKey });
    const { tokens } = await newAccount(old);
    await old.app.close();

    // The rotated service, on the same database: new key, the old public key still trusted.
    const config = (previous?: string) =>
      loadAppConfig(
        testEnvironment({
          DATABASE_URL: old.db.url,
          JWT_ALGORITHM: 'ES256',
          JWT_PRIVATE_KEY: after.privateKey,
          ...(previous ? { JWT_PREVIOUS_PUBLIC_KEYS: previous } : {}),
        }),
      );
    const rotated = await createApp(config(before.publicKey), { logger: createLogger('silent') });
    const strict = await createApp(config(), { logger: createLogger('silent') });
    try {
      const call = (app: typeof rotated, token: string) =>
        app
          .getHttpAdapter()
          .getInstance()
          .inject({
            method: 'GET',
            url: '/users/me',
            headers: { authorization: `Bearer ${token}` },
          });
      expect((await call(rotated, tokens.accessToken)).statusCode).toBe(200);
      expect((await call(strict, tokens.accessToken)).statusCode).toBe(401);
      const jwks = await rotated
        .getHttpAdapter()
        .getInstance()
        .inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(
        jwks
          .json()
          .keys.map((k: { kid: string }) => k.kid)
          .sort(),
      ).toEqual(
        [
          jwkThumbprint(createPublicKey(before.publicKey)),
          jwkThumbprint(createPublicKey(after.privateKey)),
        ].sort(),
      );
    } finally {
      await rotated.close();
      await strict.close();
      await old.db.drop();
    }
  });

  it('HS256: a rolling rotation through JWT_PREVIOUS_SECRETS never refuses a live token', async () => {
    const secretA = 'secret-a-secret-a-secret-a-secret-a-0123';
    const secretB = 'secret-b-secret-b-secret-b-secret-b-0123';
    const old = await createTestApp({ JWT_SECRET: secretA });
    const account = await newAccount(old);
    const instance = async (env: Record<string, string>) => {
      const app = await createApp(
        loadAppConfig(testEnvironment({ DATABASE_URL: old.db.url, ...env })),
        { logger: createLogger('silent') },
      );
      const fastify = app.getHttpAdapter().getInstance();
      return {
        app,
        request: (options: InjectOptions) => fastify.inject(options),
      } as unknown as TestApp;
    };
    // Phase 1: every instance learns the next secret (verification only) before any signs with it.
    const announced = await instance({ JWT_SECRET: secretA, JWT_PREVIOUS_SECRETS: secretB });
    // Phase 2: instances switch one by one and keep verifying the old secret's tokens.
    const switched = await instance({ JWT_SECRET: secretB, JWT_PREVIOUS_SECRETS: secretA });
    // Without the list, the other secret's tokens are refused: the list is what carries them.
    const strict = await instance({ JWT_SECRET: secretB });
    try {
      const fresh = await login(switched, account.email, account.password);
      expect(decodeJwt(fresh.accessToken).header.kid).not.toBe(
        decodeJwt(account.tokens.accessToken).header.kid,
      );
      expect((await get(switched, '/users/me', account.tokens.accessToken)).statusCode).toBe(200);
      expect((await get(announced, '/users/me', fresh.accessToken)).statusCode).toBe(200);
      expect((await get(strict, '/users/me', account.tokens.accessToken)).statusCode).toBe(401);
      expect((await get(old, '/users/me', fresh.accessToken)).statusCode).toBe(401);
      // Secrets are never published.
      expect((await get(switched, '/.well-known/jwks.json')).json()).toEqual({ keys: [] });
    } finally {
      for (const t of [announced, switched, strict]) await t.app.close();
      await old.close();
    }
  });
});
