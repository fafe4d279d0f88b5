import { createSecretKey } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { RefreshTokenCodec } from './refresh-token-codec';

const codecWith = (secret: string) =>
  new RefreshTokenCodec({
    jwt: { signingKey: createSecretKey(Buffer.from(secret)) },
  } as unknown as AppConfig);

describe('RefreshTokenCodec', () => {
  const codec = codecWith('secret-one-secret-one-secret-one-!!');

  it('issues rt_ + 32 random bytes, never the same twice', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => codec.issue()));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(codec.isWellFormed(token)).toBe(true);
    }
  });

  it('derives the same successor from the same token, and different ones from different tokens or keys', () => {
    const token = codec.issue();
    expect(codec.successorOf(token)).toBe(codec.successorOf(token));
    expect(codec.isWellFormed(codec.successorOf(token))).toBe(true);
    expect(codec.successorOf(codec.issue())).not.toBe(codec.successorOf(token));
    expect(codecWith('secret-two-secret-two-secret-two-!!').successorOf(token)).not.toBe(
      codec.successorOf(token),
    );
  });

  it('hashes with SHA-256', () => {
    expect(codec.hash('rt_x')).toHaveLength(32);
    expect(Buffer.from(codec.hash('rt_x')).equals(Buffer.from(codec.hash('rt_x')))).toBe(true);
  });

  it.each([
    '',
    'rt_',
    'rt_short',
    `rt_${'A'.repeat(44)}`,
    `xx_${'A'.repeat(43)}`,
    'eyJhbGciOi.x.y',
  ])('does not take %j for a refresh token', (value) =>
    expect(codec.isWellFormed(value)).toBe(false),
  );
});
