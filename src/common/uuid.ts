import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * Whether `value` is a UUID in its usual text form (8-4-4-4-12 hex digits, any version): the one
 * rule for ids a client sends, the same as `uuidField`'s (zod's guid). Stricter than PostgreSQL's
 * uuid input, on purpose: what the database would refuse is an error there, not a row not found,
 * and its other forms (no dashes, braces) are not ours.
 */
export const isUuid = (value: unknown): value is string =>
  typeof value === 'string' && z.regexes.guid.test(value);

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then randomness, so that ids made
 * in sequence sort (and index) in time order. The same kind Prisma makes for `@default(uuid(7))`,
 * for rows inserted without Prisma's client-side default.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
