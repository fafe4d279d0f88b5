import type { Mail } from './mailer.service';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * `${PASSWORD_RESET_URL}?token=<token>`, as the contract writes it, with `&` when the URL already
 * has a query. A fragment that is a route (`#/reset`, `#!/reset`: an application routing in the
 * fragment) gets the token in its own query, where that router looks; any other fragment (an
 * anchor) stays last, the token going into the URL's query, which reaches the server. The token is
 * base64url, so it needs no escaping.
 */
export function resetLink(resetUrl: string, token: string): string {
  const hash = resetUrl.indexOf('#');
  const [base, fragment] =
    hash === -1 ? [resetUrl, ''] : [resetUrl.slice(0, hash), resetUrl.slice(hash)];
  const withToken = (part: string) => `${part}${part.includes('?') ? '&' : '?'}token=${token}`;
  return /^#!?\//.test(fragment)
    ? `${base}${withToken(fragment)}`
    : `${withToken(base)}${fragment}`;
}

/** The password-reset message: the link, how long it works, and nothing else secret. */
export function passwordResetMail(
  to: string,
  resetUrl: string,
  token: string,
  ttlSeconds: number,
): Mail {
  const href = resetLink(resetUrl, token);
  const validFor = lifetime(ttlSeconds);
  const text = [
    'Someone asked to reset the password of your account.',
    '',
    `To choose a new password, open this link within ${validFor}:`,
    href,
    '',
    'If it was not you, ignore this message: your password stays as it is.',
  ].join('\n');
  const html = [
    '<p>Someone asked to reset the password of your account.</p>',
    `<p>To choose a new password, open this link within ${validFor}:</p>`,
    `<p><a href="${escapeHtml(href)}">Reset your password</a></p>`,
    '<p>If it was not you, ignore this message: your password stays as it is.</p>',
  ].join('\n');
  return { to, subject: 'Reset your password', text, html, secrets: [token] };
}

/**
 * How long a link works, in words: whole hours, else minutes (rounded down: a link must not die
 * before the time the mail promised).
 */
function lifetime(seconds: number): string {
  const [count, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : [Math.floor(seconds / 60), 'minute'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
