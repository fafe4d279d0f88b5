import { z } from 'zod';
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN, normalizeEmail } from '../credentials';

/**
 * Field schemas shared by the request bodies, so each rule is written once. Emails arrive in their
 * canonical form (trimmed, lower-cased); passwords arrive as typed: their policy is checked by the
 * service (weak_password), after NFKC normalisation.
 */

export const emailField = z
  .string()
  .transform(normalizeEmail)
  .pipe(
    z
      .email({ pattern: EMAIL_PATTERN, error: 'must be a valid email address' })
      .max(EMAIL_MAX_LENGTH),
  )
  .meta({
    format: 'email',
    maxLength: EMAIL_MAX_LENGTH,
    description:
      'Trimmed and lower-cased. An RFC 5322 dot-atom local part of at most 64 characters, then ' +
      'a host name of two or more labels (IDN domains in their xn-- form)',
    example: 'alice@example.com',
  });

/**
 * A password presented to be checked (login, the current password). Long enough for any
 * acceptable one; anything longer cannot match and is refused before any hashing.
 */
export const passwordField = z.string().max(1024).meta({ example: 'correct horse battery staple' });

/**
 * A password being chosen: any string here, so that one of the wrong length is 400
 * weak_password from the policy check (which refuses very long input before normalising it),
 * not validation_failed. The body limit bounds its size.
 */
export const newPasswordField = z.string().meta({ example: 'correct horse battery staple' });

export const fullNameField = z.string().trim().min(1).max(200).nullable();

/**
 * Opaque credentials a client presents (a refresh token): whatever one holds, a malformed one is
 * a credential that does not work, which its service answers (401), not a body that is not valid
 * (400). So the validation pipe leaves their strings to them (no NUL or Unicode check), and
 * their schemas set no length beyond the body limit.
 */
export const opaqueCredentials = z.registry();

export const ROLE_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;

/**
 * A list whose repeats are dropped before its length is checked against `max`: `["a", "a"]` is
 * `["a"]`, not a list over its limit. (The body limit bounds what is read.) The document says so
 * in words: a `maxItems` would refuse what the service accepts.
 */
export function distinctList<T>(
  list: z.ZodType<T[]>,
  max: number,
  noun: string,
  description?: string,
) {
  return list
    .transform((items) => [...new Set(items)])
    .refine((items) => items.length <= max, { error: `at most ${max} different ${noun}` })
    .meta({
      description: `${description ? `${description}. ` : ''}At most ${max} different ${noun}; one given twice is kept once`,
    });
}

export const rolesField = distinctList(
  z.array(
    z.string().regex(ROLE_PATTERN, {
      error: 'roles are 1-64 characters: lower-case letters, digits and _ . : -',
    }),
  ),
  32,
  'roles',
);

/** An id a client sends: a UUID of any version (see isUuid, the same rule). */
export const uuidField = z.guid();

/**
 * A whole number in a query string, written in decimal digits. `z.coerce.number()` would take
 * whatever `Number()` takes: `0x10`, `1e1`, ` 5 `, and an empty value as 0.
 */
export function queryInteger(min: number, max: number, fallback: number) {
  return z
    .preprocess(
      (value) => (typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value),
      z
        .number({ error: 'must be a whole number, in decimal digits' })
        .int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    )
    .default(fallback);
}

/** Pagination, as `GET /users` has it: offset from 0, limit 1..100 (default 50). */
export const offsetField = queryInteger(0, 1_000_000, 0);
export const limitField = queryInteger(1, 100, 50);

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An ISO 8601 time with its offset (`2026-11-22T15:00:00Z`), from 1970 to 9999. */
export const timestampField = z.iso
  .datetime({ offset: true })
  .pipe(z.coerce.date())
  .refine((date) => date.getTime() >= EARLIEST && date.getTime() <= LATEST, {
    error: 'must be between 1970 and 9999',
  });
