import { createPublicKey } from 'node:crypto';
import { verify } from 'jsonwebtoken';
import { jwkThumbprint } from '../../src/auth/tokens/jwt-keys';
import { generateSigningKeyPair } from '../../src/common/signing-keys';
import { loadAppConfig } from '../../src/config/app-config';
import { createApp } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { decodeJwt, get, newAccount } from '../support/auth';
import { createTestApp, testEnvironment } from '../support/test-app';

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
});
