import type { Mail } from './mailer.service';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The password-reset message: the link, how long it works, and nothing else secret. */
export function passwordResetMail(
  to: string,
  resetUrl: string,
  token: string,
  ttlSeconds: number,
): Mail {
  const link = new URL(resetUrl);
  link.searchParams.set('token', token);
  const href = link.toString();
  const validFor =
    ttlSeconds % 3600 === 0
      ? `${ttlSeconds / 3600} hour${ttlSeconds === 3600 ? '' : 's'}`
      : `${Math.round(ttlSeconds / 60)} minutes`;
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
