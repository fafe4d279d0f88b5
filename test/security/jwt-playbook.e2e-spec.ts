import { createHmac, generateKeyPairSync, randomUUID, sign as rawSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { decodeJwt, get, newAccount, post, type Account } from '../support/auth';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app';

/**
 * The rest of the JWT attack playbook (test/security/jwt-attacks covers alg none, stripped and
 * altered signatures, other and common secrets, key confusion, kid injection, crit, time claims,
 * unknown sessions and users, role claims and oversized tokens).
 */
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const HMAC = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/** A JWT from raw header and payload texts, HMAC-signed. */
function forgeRaw(
  headerJson: string,
  payloadJson: string,
  secret: string,
  alg: keyof typeof HMAC = 'HS256',
) {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${input}.${createHmac(HMAC[alg], secret).update(input).digest('base64url')}`;
}
const forge = (
  header: object,
  payload: object,
  secret = TEST_JWT_SECRET,
  alg: keyof typeof HMAC = 'HS256',
) => forgeRaw(JSON.stringify(header), JSON.stringify(payload), secret, alg);

describe('JWT attack playbook', () => {
  let t: TestApp;
  let account: Account;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let fetched = 0;
  let trap: Server;
  let trapUrl: string;
  let tried = 0;

  beforeAll(async () => {
    trap = createServer((_req, res) => {
      fetched++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    t = await createTestApp();
    account = await newAccount(t, 'playbook');
    ({ header, payload } = decodeJwt(account.tokens.accessToken));
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => trap.close(resolve));
    process.stdout.write(`jwt playbook: ${tried} forged or malformed tokens refused\n`);
  });

  const expectRefused = async (token: string) => {
    tried++;
    const res = await get(t, '/users/me', token);
    const [h, p] = token.split('.');
    const shown = `${Buffer.from(h ?? '', 'base64url').toString()} ${Buffer.from(
      p ?? '',
      'base64url',
    )
      .toString()
      .slice(-60)}`;
    expect([shown, res.statusCode, res.json().code]).toEqual([shown, 401, 'invalid_token']);
  };

  it('accepts the same claims re-signed with the real key (the control)', async () => {
    expect((await get(t, '/users/me', forge(header, payload))).statusCode).toBe(200);
  });

  it('refuses null and empty signatures in every spelling', async () => {
    const [head, body] = account.tokens.accessToken.split('.');
    for (const signature of ['', 'null', 'AA', b64(Buffer.alloc(0).toString()), '=']) {
      await expectRefused(`${head}.${body}.${signature}`);
    }
    await expectRefused(`${head}.${body}`);
    await expectRefused(`${head}..`);
    await expectRefused('..');
  });

  it('refuses alg switching to other HMAC sizes, even with the real secret', async () => {
    for (const alg of ['HS384', 'HS512'] as const) {
      await expectRefused(forge({ ...header, alg }, payload, TEST_JWT_SECRET, alg));
    }
  });

  it('never fetches or trusts keys named by jku, x5u, jwk or x5c', async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    const es256 = (h: object) => {
      const input = `${b64(h)}.${b64(payload)}`;
      const signature = rawSign('sha256', Buffer.from(input), {
        key: attacker.privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${input}.${signature.toString('base64url')}`;
    };
    await expectRefused(es256({ alg: 'ES256', typ: 'JWT', jwk }));
    await expectRefused(es256({ alg: 'ES256', typ: 'JWT', jku: `${trapUrl}/jwks.json`, kid: 'x' }));
    await expectRefused(es256({ alg: 'ES256', typ: 'JWT', x5u: `${trapUrl}/cert.pem` }));
    await expectRefused(es256({ alg: 'ES256', typ: 'JWT', x5c: ['MIIBkTCB+wIJAK'] }));
    // With our own kid and key, the extra headers are not a way in either: the signature is not ours.
    await expectRefused(es256({ ...header, alg: 'ES256', jku: `${trapUrl}/jwks.json` }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fetched).toBe(0);
  });

  it('refuses duplicated claims or header members, even correctly signed', async () => {
    // The forged member comes first and ours last: a parser keeping the last value (as
    // JSON.parse does) would read exactly our claims, so only the duplicate check refuses these.
    const headerJson = JSON.stringify(header);
    const payloadJson = JSON.stringify(payload);
    const otherSub = JSON.stringify(randomUUID());
    const withFirst = (json: string, member: string) => `{${member},${json.slice(1)}`;
    const control = await get(t, '/users/me', forgeRaw(headerJson, payloadJson, TEST_JWT_SECRET));
    expect(control.statusCode).toBe(200);
    await expectRefused(
      forgeRaw(headerJson, withFirst(payloadJson, `"sub":${otherSub}`), TEST_JWT_SECRET),
    );
    await expectRefused(
      forgeRaw(withFirst(headerJson, `"alg":"none"`), payloadJson, TEST_JWT_SECRET),
    );
    await expectRefused(
      forgeRaw(withFirst(headerJson, `"kid":"other"`), payloadJson, TEST_JWT_SECRET),
    );
  });

  it('refuses time claims of the wrong type or out of range, even correctly signed', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const change of [
      { exp: String(now + 600) },
      { exp: null },
      { exp: 1e308 },
      { exp: -1 },
      { nbf: String(now) },
      { nbf: now + 3600 },
      { iat: now + 3600 },
      { iat: 'yesterday' },
      { iat: undefined },
    ]) {
      await expectRefused(forge(header, { ...payload, ...change }));
    }
  });

  it('refuses a header or payload that is not a JSON object', async () => {
    for (const [h, p] of [
      ['[]', JSON.stringify(payload)],
      [JSON.stringify(header), '"sub"'],
      [JSON.stringify(header), 'null'],
      ['not json', JSON.stringify(payload)],
      [JSON.stringify(header), JSON.stringify(payload) + 'x'],
    ]) {
      await expectRefused(forgeRaw(h, p, TEST_JWT_SECRET));
    }
  });

  it('refuses the service’s other secrets presented as access tokens', async () => {
    const created = await post(
      t,
      '/auth/api-keys',
      { name: 'k', scopes: ['users:read'] },
      { authorization: `Bearer ${account.tokens.accessToken}` },
    );
    for (const token of [
      account.tokens.refreshToken,
      created.json().key,
      'q9Xv0dGk3oF8N2sL5wRj7yTq1cVb4mZe6hUa0pKx3Ds',
    ]) {
      await expectRefused(token);
    }
  });

  it('reads the token from the Authorization header only', async () => {
    const res = await t.request({
      method: 'GET',
      url: `/users/me?access_token=${account.tokens.accessToken}`,
      headers: { cookie: `access_token=${account.tokens.accessToken}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('never answers a fuzzed, correctly signed claim set with anything but 200 or 401', async () => {
    const claim = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            sub: claim,
            sid: claim,
            jti: claim,
            iat: claim,
            exp: claim,
            nbf: claim,
            iss: claim,
            aud: claim,
            roles: claim,
          },
          { requiredKeys: [] },
        ),
        fc.boolean(),
        async (changes, keepRest) => {
          const claims = keepRest ? { ...payload, ...changes } : changes;
          const res = await get(t, '/users/me', forge(header, claims));
          tried++;
          expect([200, 401]).toContain(res.statusCode);
        },
      ),
      { numRuns: 300 },
    );
  });
});
