import {
  EMAIL_PATTERN,
  isAcceptablePasswordLength,
  normalizeEmail,
  normalizePassword,
  passwordLength,
} from './credentials';

describe('credentials', () => {
  // A pattern that backtracked catastrophically would not return here (this suite would hang).
  it('refuses long hostile emails, each part of the pattern tried against a long run', () => {
    for (const hostile of [
      `a@${'a-'.repeat(30_000)}!`,
      `a@${'a.'.repeat(30_000)}1`,
      `a@${`${'a'.repeat(62)}.`.repeat(900)}-`,
      `${'a.'.repeat(31)}a@${'b.'.repeat(30_000)}`,
    ]) {
      expect(EMAIL_PATTERN.test(hostile)).toBe(false);
    }
  });

  it('trims and lower-cases emails', () => {
    expect(normalizeEmail('  Alice@Example.COM ')).toBe('alice@example.com');
  });

  it('lower-cases only ASCII letters: the Kelvin sign stays, and the address is refused', () => {
    const kelvin = '\u212Aelvin@example.com';
    expect(normalizeEmail(kelvin)).toBe(kelvin);
    expect(EMAIL_PATTERN.test(normalizeEmail(kelvin))).toBe(false);
  });

  it('normalises passwords with NFKC, so equivalent spellings are one password', () => {
    const composed = 'caf\u00e9-pass';
    const decomposed = 'cafe\u0301-pass';
    expect(normalizePassword(decomposed)).toBe(normalizePassword(composed));
    expect(normalizePassword('\uff10\uff11\uff12')).toBe('012');
  });

  it('counts characters after normalisation', () => {
    expect(passwordLength('cafe\u0301')).toBe(4);
    expect(passwordLength('😀😀')).toBe(2);
  });

  it.each([
    ['7 characters', 'a'.repeat(7), false],
    ['8 characters', 'a'.repeat(8), true],
    ['128 characters', 'a'.repeat(128), true],
    ['129 characters', 'a'.repeat(129), false],
    ['8 characters that are 16 UTF-16 units', '😀'.repeat(8), true],
    ['a megabyte', 'a'.repeat(1024 * 1024), false],
  ])('%s: acceptable is %s', (_label, password, acceptable) => {
    expect(isAcceptablePasswordLength(password)).toBe(acceptable);
  });
});
