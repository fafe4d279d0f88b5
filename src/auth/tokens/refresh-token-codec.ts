import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';

/** A SHA-256 digest, as Prisma stores `Bytes`. */
export type TokenHash = Uint8Array<ArrayBuffer>;

const PREFIX = 'rt_';
const FORMAT = /^rt_[A-Za-z0-9_-]{43}$/;

/**
 * Refresh tokens: `rt_` and 32 bytes, base64url (the prefix lets secret scanners find leaked
 * ones). Only their SHA-256 is stored.
 *
 * A token's successor is not random but HMAC(key, token), with a key derived from the JWT signing
 * key (HKDF). So presenting the same token twice within the grace window yields the same successor
 * without it ever being stored: the database holds only hashes, and no one who reads it can present
 * a valid token. The first token of a session is random.
 */
@Injectable()
export class RefreshTokenCodec {
  private readonly successorKey: Buffer;

  constructor(config: AppConfig) {
    const { signingKey } = config.jwt;
    const material =
      signingKey.type === 'secret'
        ? signingKey.export()
        : signingKey.export({ format: 'der', type: 'pkcs8' });
    this.successorKey = Buffer.from(
      hkdfSync('sha256', material, Buffer.alloc(0), 'auth-service refresh-token successor v1', 32),
    );
  }

  issue(): string {
    return PREFIX + randomBytes(32).toString('base64url');
  }

  successorOf(token: string): string {
    return PREFIX + createHmac('sha256', this.successorKey).update(token).digest('base64url');
  }

  hash(token: string): TokenHash {
    return Uint8Array.from(createHash('sha256').update(token).digest());
  }

  /** Anything else (an access token, a truncated value) cannot be a refresh token of ours. */
  isWellFormed(token: string): boolean {
    return FORMAT.test(token);
  }
}
