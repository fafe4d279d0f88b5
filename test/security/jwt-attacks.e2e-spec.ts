import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  randomUUID,
} from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { jwkThumbprint } from '../../src/auth/tokens/jwt-keys';
import { generateSigningKeyPair } from '../../src/common/signing-keys';
import { bearer, decodeJwt, get, newAccount, superuserTokens } from '../support/auth';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app';

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT with whatever header and payload, HMAC-signed with `secret` (or not signed at all). */
function forge(header: object, payload: object, secret?: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

describe('access tokens under attack (HS256)', () => {
  let t: TestApp;
  let valid: { header: any; payload: any; token: string };
  const secretKid = jwkThumbprint(createSecretKey(Buffer.from(TEST_JWT_SECRET)));

  beforeAll(async () => {
    t = await createTestApp();
    const account = await newAccount(t);
    valid = { ...decodeJwt(account.tokens.accessToken), token: account.tokens.accessToken };
  });
  afterAll(() => t.close());

  const expect401 = async (token: string) => {
    const res = await get(t, '/users/me', token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'invalid_token' });
  };

  it('accepts the genuine token (the control)', async () => {
    expect((await get(t, '/users/me', valid.token)).statusCode).toBe(200);
    expect(valid.header.kid).toBe(secretKid);
    // The same claims re-signed with the real secret pass too: the forgeries below differ in one thing.
    expect(
      (await get(t, '/users/me', forge(valid.header, valid.payload, TEST_JWT_SECRET))).statusCode,
    ).toBe(200);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg "%s"', async (alg) => {
    await expect401(forge({ ...valid.header, alg }, valid.payload));
    await expect401(forge({ ...valid.header, alg }, valid.payload) + 'x');
  });

  it('refuses a stripped, altered or truncated signature', async () => {
    const [head, body, signature] = valid.token.split('.');
    await expect401(`${head}.${body}.`);
    await expect401(`${head}.${body}`);
    // One bit of the signature's first byte flipped. (Editing its last characters is not always
    // a change: base64url's final character carries bits that decoding drops.)
    const altered = Buffer.from(signature, 'base64url');
    altered[0] ^= 1;
    await expect401(`${head}.${body}.${altered.toString('base64url')}`);
    await expect401(`${head}.${body}.${Buffer.alloc(32).toString('base64url')}`);
  });

  it('refuses tampered claims under the original signature', async () => {
    const [head, , signature] = valid.token.split('.');
    await expect401(`${head}.${b64({ ...valid.payload, roles: ['admin'] })}.${signature}`);
    await expect401(
      `${head}.${b64({ ...valid.payload, exp: valid.payload.exp + 3600 })}.${signature}`,
    );
  });

  it('refuses a token signed with another key, or a blank or common secret', async () => {
    for (const secret of [
      'another-secret-another-secret-0000',
      '',
      'secret',
      'changeme',
      'auth-service',
    ]) {
      await expect401(forge(valid.header, valid.payload, secret));
    }
  });

  it.each([
    ['an unknown kid', 'not-our-key'],
    ['a path', '../../../../etc/passwd'],
    ['SQL', "' OR '1'='1"],
    ['no kid', undefined],
    ['a number', 42],
  ])('refuses %s as kid', async (_label, kid) => {
    await expect401(forge({ ...valid.header, kid }, valid.payload, TEST_JWT_SECRET));
  });

  it('refuses a token with a crit header', async () => {
    await expect401(
      forge({ ...valid.header, crit: ['b64'], b64: false }, valid.payload, TEST_JWT_SECRET),
    );
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 10 }],
    ['not yet valid (nbf in the future)', { nbf: Math.floor(Date.now() / 1000) + 3600 }],
    ['from another issuer', { iss: 'someone-else' }],
    ['for another audience', { aud: 'another-service' }],
    ['without exp', { exp: undefined }],
  ])('refuses a correctly signed token that is %s', async (_label, change) => {
    await expect401(forge(valid.header, { ...valid.payload, ...change }, TEST_JWT_SECRET));
  });

  it('says when the token merely expired', async () => {
    const res = await get(
      t,
      '/users/me',
      forge(valid.header, { ...valid.payload, exp: 1 }, TEST_JWT_SECRET),
    );
    expect(res.json().detail).toMatch(/expired/);
  });

  it('refuses a correctly signed token for an unknown session or an unknown user', async () => {
    await expect401(forge(valid.header, { ...valid.payload, sid: randomUUID() }, TEST_JWT_SECRET));
    await expect401(forge(valid.header, { ...valid.payload, sub: randomUUID() }, TEST_JWT_SECRET));
    await expect401(forge(valid.header, { ...valid.payload, sid: 'not-a-uuid' }, TEST_JWT_SECRET));
  });

  it.each([
    ['dashes only', '-'.repeat(36)],
    ['36 hex digits, no dashes', '0'.repeat(34) + 'ff'],
  ])(
    'refuses a correctly signed token whose sid or sub is not a UUID (%s): 401, not 500',
    async (_label, id) => {
      await expect401(forge(valid.header, { ...valid.payload, sid: id }, TEST_JWT_SECRET));
      await expect401(forge(valid.header, { ...valid.payload, sub: id }, TEST_JWT_SECRET));
    },
  );

  it('refuses another user’s session id in a forged-but-signed token (session and subject must match)', async () => {
    const other = await newAccount(t);
    const { payload } = decodeJwt(other.tokens.accessToken);
    await expect401(forge(valid.header, { ...valid.payload, sid: payload.sid }, TEST_JWT_SECRET));
  });

  it('refuses a deactivated user’s token', async () => {
    const account = await newAccount(t);
    const admin = await superuserTokens(t);
    await t.request({
      method: 'PATCH',
      url: `/users/${account.id}`,
      payload: { isActive: false },
      headers: bearer(admin.accessToken),
    });
    await expect401(account.tokens.accessToken);
  });

  it('does not let a token claim roles the user does not hold', async () => {
    const forged = forge(
      valid.header,
      { ...valid.payload, roles: ['admin', 'ops'] },
      TEST_JWT_SECRET,
    );
    const res = await get(t, '/users', forged);
    expect(res.json()).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('refuses a 60 KB token without a 5xx', async () => {
    const huge = forge(
      valid.header,
      { ...valid.payload, pad: 'x'.repeat(60_000) },
      TEST_JWT_SECRET,
    );
    const res = await get(t, '/users/me', huge);
    expect([401, 431]).toContain(res.statusCode);
    expect(res.statusCode).toBeLessThan(500);
  });

  it('accepts the scheme in any case, and nothing but Bearer', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await t.request({
        method: 'GET',
        url: '/users/me',
        headers: { authorization: `${scheme} ${valid.token}` },
      });
      expect(res.statusCode).toBe(200);
    }
    const basic = await t.request({
      method: 'GET',
      url: '/users/me',
      headers: { authorization: `Basic ${valid.token}` },
    });
    expect(basic.statusCode).toBe(401);
  });
});

describe('access tokens under attack (RS256 and ES256)', () => {
  it.each(['RS256', 'ES256'] as const)(
    '%s: refuses HS256 signed with the public key, alg switching, and keys that are not ours',
    async (alg) => {
      const { privateKey, publicKey } = generateSigningKeyPair(alg);
      const t = await createTestApp({ JWT_ALGORITHM: alg, JWT_PRIVATE_KEY: privateKey });
      try {
        const account = await newAccount(t);
        const { header, payload } = decodeJwt(account.tokens.accessToken);
        expect(header.alg).toBe(alg);
        expect((await get(t, '/users/me', account.tokens.accessToken)).statusCode).toBe(200);

        // Key confusion: HMAC over the public key (PEM and DER), announced as HS256.
        const der = createPublicKey(publicKey).export({ type: 'spki', format: 'der' });
        for (const key of [publicKey, der]) {
          const res = await get(t, '/users/me', forge({ ...header, alg: 'HS256' }, payload, key));
          expect(res.statusCode).toBe(401);
        }
        // The same algorithm with a key of our own making.
        const stranger = createPrivateKey(generateSigningKeyPair(alg).privateKey);
        const strangers = sign(payload, stranger, { algorithm: alg, keyid: header.kid });
        expect((await get(t, '/users/me', strangers)).statusCode).toBe(401);
        // The other asymmetric algorithm.
        const otherAlg = alg === 'RS256' ? 'ES256' : 'RS256';
        const other = sign(payload, createPrivateKey(generateSigningKeyPair(otherAlg).privateKey), {
          algorithm: otherAlg,
          keyid: header.kid,
        });
        expect((await get(t, '/users/me', other)).statusCode).toBe(401);
        // jku/x5u/jwk headers pointing at an attacker's key are not followed.
        const embedded = sign(payload, stranger, {
          algorithm: alg,
          header: {
            alg,
            kid: header.kid,
            jku: 'http://127.0.0.1:1/jwks.json',
            jwk: stranger.export({ format: 'jwk' }),
          } as never,
        });
        expect((await get(t, '/users/me', embedded)).statusCode).toBe(401);
      } finally {
        await t.close();
      }
    },
  );
});
