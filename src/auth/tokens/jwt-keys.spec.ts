import { createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { generateSigningKeyPair } from '../../common/signing-keys';
import type { AppConfig } from '../../config/app-config';
import { JwtKeys, jwkThumbprint } from './jwt-keys';

describe('JwtKeys', () => {
  it('computes RFC 7638 thumbprints (the RFC’s own example)', () => {
    const key = createPublicKey({
      format: 'jwk',
      key: {
        kty: 'RSA',
        e: 'AQAB',
        n:
          '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP' +
          'ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY' +
          '368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f' +
          'M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      },
    });
    expect(jwkThumbprint(key)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('identifies an HS256 secret stably without revealing it', () => {
    const secret = createSecretKey(Buffer.from('a-secret-a-secret-a-secret-a-secret'));
    const kid = jwkThumbprint(secret);
    expect(kid).toBe(
      jwkThumbprint(createSecretKey(Buffer.from('a-secret-a-secret-a-secret-a-secret'))),
    );
    expect(kid).not.toContain('secret');
    expect(kid).toMatch(/^[\w-]{43}$/);
  });

  it('knows the current and previous keys by kid, publishes only public ones, never the private part', () => {
    const current = generateSigningKeyPair('ES256');
    const previous = generateSigningKeyPair('ES256');
    const signingKey = createPrivateKey(current.privateKey);
    const keys = new JwtKeys({
      jwt: {
        algorithm: 'ES256',
        signingKey,
        verificationKey: createPublicKey(signingKey),
        previousKeys: [createPublicKey(previous.publicKey)],
      },
    } as unknown as AppConfig);
    const previousKid = jwkThumbprint(createPublicKey(previous.publicKey));
    expect(keys.verificationKey(keys.currentKid)?.type).toBe('public');
    expect(keys.verificationKey(previousKid)).toBeDefined();
    expect(keys.verificationKey('nope')).toBeUndefined();
    expect(keys.verificationKey({ toString: () => keys.currentKid })).toBeUndefined();
    const { keys: published } = keys.jwks();
    expect(published.map((key) => key.kid)).toEqual([keys.currentKid, previousKid]);
    for (const key of published) expect(key).not.toHaveProperty('d');
  });
});
