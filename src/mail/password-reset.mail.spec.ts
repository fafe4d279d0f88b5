import { passwordResetMail, resetLink } from './password-reset.mail';

const TOKEN = 'q9Xv0dGk3oF8N2sL5wRj7yTq1cVb4mZe6hUa0pKx3Ds';

describe('resetLink', () => {
  it('is `${PASSWORD_RESET_URL}?token=<token>`, as the contract writes it', () => {
    expect(resetLink('https://app.example.com/reset-password', TOKEN)).toBe(
      `https://app.example.com/reset-password?token=${TOKEN}`,
    );
  });

  it('keeps a fragment route whole, the token in its query (hash-routed applications)', () => {
    expect(resetLink('https://app.example.com/#/reset', TOKEN)).toBe(
      `https://app.example.com/#/reset?token=${TOKEN}`,
    );
    expect(resetLink('https://app.example.com/?lang=en#/reset', TOKEN)).toBe(
      `https://app.example.com/?lang=en#/reset?token=${TOKEN}`,
    );
  });

  it('puts the token before a fragment that is an anchor, not a route', () => {
    expect(resetLink('https://app.example.com/reset#top', TOKEN)).toBe(
      `https://app.example.com/reset?token=${TOKEN}#top`,
    );
    expect(resetLink('https://app.example.com/#!/reset', TOKEN)).toBe(
      `https://app.example.com/#!/reset?token=${TOKEN}`,
    );
  });

  it('adds to a query the URL already has instead of starting a second one', () => {
    expect(resetLink('https://app.example.com/reset?lang=en', TOKEN)).toBe(
      `https://app.example.com/reset?lang=en&token=${TOKEN}`,
    );
    expect(resetLink('https://app.example.com/#/reset?lang=en', TOKEN)).toBe(
      `https://app.example.com/#/reset?lang=en&token=${TOKEN}`,
    );
  });
});

describe('passwordResetMail', () => {
  it('carries the link in text and HTML and declares the token a secret', () => {
    const mail = passwordResetMail('a@example.com', 'https://app.example.com/r?x=1', TOKEN, 3600);
    expect(mail.text).toContain(`https://app.example.com/r?x=1&token=${TOKEN}`);
    expect(mail.html).toContain(`https://app.example.com/r?x=1&#38;token=${TOKEN}`);
    expect(mail.secrets).toEqual([TOKEN]);
  });

  it.each([
    [60, '1 minute'],
    [90, '1 minute'],
    [1800, '30 minutes'],
    [3600, '1 hour'],
    [7 * 24 * 3600, '168 hours'],
  ])('says a link valid for %i s works within %s', (ttl, words) => {
    const mail = passwordResetMail('a@example.com', 'https://app.example.com/r', TOKEN, ttl);
    expect(mail.text).toContain(`open this link within ${words}:`);
  });
});
