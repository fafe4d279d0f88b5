/**
 * The one place for the contract's rules on emails and passwords, shared by the request schemas,
 * the configuration (FIRST_SUPERUSER_PASSWORD) and the seed.
 */

export const EMAIL_MAX_LENGTH = 254;

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const TOP_LABEL = '[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]';

/**
 * A valid address as mail systems take it: an RFC 5322 dot-atom local part of at most 64
 * characters (`o'brien`, `a&b`, `x+tag`), then a host name of at least two labels whose last
 * starts with a letter (IDN top-level domains arrive as `xn--p1ai`). Not accepted: quoted local
 * parts and IP-address literals, which RFC 5322 allows but no mailbox provider hands out. Every
 * part is bounded and unambiguous, so the pattern cannot backtrack badly on long input.
 */
export const EMAIL_PATTERN = new RegExp(
  `^(?=[^@]{1,64}@)${ATEXT}(?:\\.${ATEXT})*@(?:${LABEL}\\.)+${TOP_LABEL}$`,
);

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * Emails are trimmed and compared case-insensitively; this is the stored, canonical form. Only
 * ASCII letters are lower-cased: `toLowerCase` also maps the Kelvin sign (U+212A) to "k", so a
 * non-ASCII address would pass the (ASCII) pattern as someone else's.
 */
export function normalizeEmail(email: string): string {
  return email.trim().replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/**
 * Passwords are hashed and measured after Unicode NFKC normalisation, so the same password typed
 * on two keyboards (composed or decomposed accents, full-width digits) is one password.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in characters (code points), as a user counts them. */
export function passwordLength(password: string): number {
  return [...normalizePassword(password)].length;
}

/**
 * NFKC can shrink a string at most about threefold (Hangul jamo), and a code point is at most two
 * UTF-16 units, so anything longer than this cannot normalise to an acceptable password: it is
 * refused without normalising (or, later, hashing) a megabyte of input.
 */
const RAW_PASSWORD_MAX_UNITS = PASSWORD_MAX_LENGTH * 8;

export function isAcceptablePasswordLength(password: string): boolean {
  if (password.length > RAW_PASSWORD_MAX_UNITS) return false;
  const length = passwordLength(password);
  return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH;
}
