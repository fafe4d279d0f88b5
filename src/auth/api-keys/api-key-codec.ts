import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys are `ak_<id>_<secret>`: the key's id (its UUID as 32 hex digits), so a presented key is
 * found by primary key without scanning, and 32 random bytes (base64url). The fixed `ak_` prefix
 * lets secret scanners recognise a leaked key. Only the secret's SHA-256 is stored: the secret is
 * high-entropy, so a fast hash is enough.
 */
const FORMAT = /^ak_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  id: string;
  secret: string;
}

export const apiKeyCodec = {
  generate(id: string): { key: string; secretHash: Uint8Array<ArrayBuffer> } {
    const secret = randomBytes(32).toString('base64url');
    return { key: `${apiKeyCodec.prefix(id)}_${secret}`, secretHash: hashSecret(secret) };
  },

  /** The public part, shown in listings: `ak_<id>`. */
  prefix(id: string): string {
    return `ak_${id.replaceAll('-', '')}`;
  },

  parse(key: string): ParsedApiKey | undefined {
    const match = FORMAT.exec(key);
    if (!match) return undefined;
    const hex = match[1];
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    return { id, secret: match[2] };
  },

  matches(secret: string, secretHash: Uint8Array): boolean {
    const candidate = hashSecret(secret);
    return candidate.length === secretHash.length && timingSafeEqual(candidate, secretHash);
  },
};

function hashSecret(secret: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(createHash('sha256').update(secret).digest());
}
