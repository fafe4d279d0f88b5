import { createHash, type JsonWebKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, type JwtAlgorithm } from '../../config/app-config';

export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: JwtAlgorithm;
  use: 'sig';
}

/** The members RFC 7638 hashes, in its (lexicographic) order, per key type. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/**
 * RFC 7638 JWK thumbprint: SHA-256 of the key's required members, base64url. For an HS256 secret
 * this is a hash of the secret, a stable identifier that reveals nothing usable about it.
 */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const members = THUMBPRINT_MEMBERS[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * The keys tokens are signed and verified with, as Node KeyObjects (jsonwebtoken would re-parse a
 * PEM or string secret on every call), each known by its `kid`.
 */
@Injectable()
export class JwtKeys {
  readonly algorithm: JwtAlgorithm;
  readonly signingKey: KeyObject;
  /** The `kid` new tokens carry. */
  readonly currentKid: string;
  private readonly verification = new Map<string, KeyObject>();
  private readonly publicJwks: PublicJwk[] = [];

  constructor(config: AppConfig) {
    const { algorithm, signingKey, verificationKey, previousKeys } = config.jwt;
    this.algorithm = algorithm;
    this.signingKey = signingKey;
    this.currentKid = jwkThumbprint(verificationKey);
    for (const key of [verificationKey, ...previousKeys]) {
      const kid = jwkThumbprint(key);
      if (this.verification.has(kid)) continue;
      this.verification.set(kid, key);
      if (key.type === 'public') {
        this.publicJwks.push({ ...key.export({ format: 'jwk' }), kid, alg: algorithm, use: 'sig' });
      }
    }
  }

  /** The key a token with this `kid` must verify under, if it is one of ours. */
  verificationKey(kid: unknown): KeyObject | undefined {
    return typeof kid === 'string' ? this.verification.get(kid) : undefined;
  }

  /** Every public key a live token may be signed with; none for HS256. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.publicJwks };
  }
}
