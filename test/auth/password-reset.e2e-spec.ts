import { createHash } from 'node:crypto';
import { PasswordResetTokensRepository } from '../../src/auth/password-reset/password-reset-tokens.repository';
import { PrismaService } from '../../src/database/prisma.service';
import {
  bearer,
  get,
  login,
  newAccount,
  post,
  refresh,
  uniqueEmail,
  within,
} from '../support/auth';
import { captureLogs } from '../support/logs';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { openTransaction, untilWaitingOnLocks } from '../support/locks';
import { createTestApp, TEST_SUPERUSER, type TestApp } from '../support/test-app';

const RESET_URL = 'https://app.example.com/reset-password';

/** The token in a reset mail's link, checking the link's shape on the way. */
function tokenFrom(text: string): string {
  const links = text.match(/https:\/\/app\.example\.com\/reset-password\?token=[^\s"<]+/g) ?? [];
  expect(links).toHaveLength(1);
  const token = new URL(links[0]!).searchParams.get('token')!;
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token;
}

let ipCounter = 0;
/** A distinct client address, so the per-IP limit does not mix tests up. */
const freshIp = () => `198.51.100.${++ipCounter}`;

describe('password reset by email (real SMTP)', () => {
  let t: TestApp;
  let smtp: SmtpSink;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await createTestApp({ SMTP_URL: smtp.url, PASSWORD_RESET_URL: RESET_URL });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const requestReset = (email: string, ip = freshIp()) =>
    t.request({
      method: 'POST',
      url: '/auth/password-reset/request',
      payload: { email },
      remoteAddress: ip,
    });
  const confirm = (token: string, newPassword: string) =>
    post(t, '/auth/password-reset/confirm', { token, newPassword });
  /** Until a background delivery's token insert is waiting for a row lock held by the test. */
  const tokenIssueWaitsOnALock = () =>
    untilWaitingOnLocks(t, 1, 'INSERT INTO password_reset_tokens');

  it('mails a link whose token sets a new password and ends every session', async () => {
    const account = await newAccount(t, 'reset');
    const otherSession = await login(t, account.email, account.password);

    const res = await requestReset(account.email);
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');

    const mail = await smtp.next(account.email);
    expect(mail.subject).toBe('Reset your password');
    expect(mail.from?.text).toContain('no-reply@localhost');
    const token = tokenFrom(mail.text ?? '');
    expect(tokenFrom(String(mail.html))).toBe(token);
    // Nothing else secret: not the password, not the user's tokens.
    for (const secret of [account.password, account.tokens.refreshToken, account.id]) {
      expect(`${mail.text}${String(mail.html)}`).not.toContain(secret);
    }

    expect((await confirm(token, 'a brand new password')).statusCode).toBe(204);

    // Every session of the user is over: access and refresh tokens alike.
    for (const session of [account.tokens, otherSession]) {
      expect((await get(t, '/users/me', session.accessToken)).statusCode).toBe(401);
      expect((await refresh(t, session.refreshToken)).statusCode).toBe(401);
    }
    const { email, password } = account;
    expect((await post(t, '/auth/login', { email, password })).statusCode).toBe(401);
    await login(t, account.email, 'a brand new password');
  });

  it('accepts a token once; an altered, unknown or expired one is 400 invalid_token', async () => {
    const account = await newAccount(t, 'reset-once');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');

    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of [altered, 'not-a-token', 'A'.repeat(43)]) {
      const res = await confirm(bad, 'another new password');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_token', status: 400 });
    }
    expect((await confirm(token, 'another new password')).statusCode).toBe(204);
    const reused = await confirm(token, 'yet another password');
    expect(reused.statusCode).toBe(400);
    expect(reused.json().code).toBe('invalid_token');
    await login(t, account.email, 'another new password');

    // Expired: the same kind of token, past its expiry.
    await requestReset(account.email);
    const late = tokenFrom((await smtp.next(account.email)).text ?? '');
    await t.db.query(
      `UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [account.id],
    );
    expect((await confirm(late, 'too late password')).json().code).toBe('invalid_token');
    await login(t, account.email, 'another new password');
  });

  it('keeps the token when the new password is refused (weak_password)', async () => {
    const account = await newAccount(t, 'reset-weak');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    const weak = await confirm(token, 'short');
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('weak_password');
    expect((await confirm(token, 'long enough now')).statusCode).toBe(204);
  });

  it('voids a token when a newer one is requested, or the password changes', async () => {
    const account = await newAccount(t, 'reset-void');
    await requestReset(account.email);
    const first = tokenFrom((await smtp.next(account.email)).text ?? '');
    await requestReset(account.email);
    const second = tokenFrom((await smtp.next(account.email)).text ?? '');
    expect(second).not.toBe(first);
    expect((await confirm(first, 'first token password')).json().code).toBe('invalid_token');

    const changed = await t.request({
      method: 'POST',
      url: '/users/me/password',
      headers: bearer(account.tokens.accessToken),
      payload: { currentPassword: account.password, newPassword: 'changed by the user' },
    });
    expect(changed.statusCode).toBe(204);
    expect((await confirm(second, 'second token password')).json().code).toBe('invalid_token');
    await login(t, account.email, 'changed by the user');
  });

  it('voids a token when an administrator sets the password, changes the email or deactivates', async () => {
    const admin = await login(t, TEST_SUPERUSER.email, TEST_SUPERUSER.password);
    const patch = (id: string, payload: object) =>
      t.request({
        method: 'PATCH',
        url: `/users/${id}`,
        headers: bearer(admin.accessToken),
        payload,
      });
    for (const change of [
      { password: 'set by the admin' },
      { email: uniqueEmail('moved') },
      { isActive: false },
    ]) {
      const account = await newAccount(t, 'reset-admin');
      await requestReset(account.email);
      const token = tokenFrom((await smtp.next(account.email)).text ?? '');
      expect((await patch(account.id, change)).statusCode).toBe(200);
      if ('isActive' in change)
        expect((await patch(account.id, { isActive: true })).statusCode).toBe(200);
      const res = await confirm(token, 'taken over password');
      expect([JSON.stringify(change), res.statusCode]).toEqual([JSON.stringify(change), 400]);
    }
  });

  it('voids a token when the user changes their own email', async () => {
    const account = await newAccount(t, 'reset-email');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    const moved = await t.request({
      method: 'PATCH',
      url: '/users/me',
      headers: bearer(account.tokens.accessToken),
      payload: { email: uniqueEmail('moved') },
    });
    expect(moved.statusCode).toBe(200);
    expect((await confirm(token, 'old inbox password')).json().code).toBe('invalid_token');
  });

  it('issues no token when the email changes while the mail is being prepared', async () => {
    const account = await newAccount(t, 'reset-moving');
    const moved = uniqueEmail('moved-meanwhile');
    // An email change in flight holds the user's row; the delivery, in the background after the
    // 202, has read the account by its old address and must wait for the change, then give up.
    const change = await openTransaction(t, 'UPDATE users SET email = $1 WHERE id = $2', [
      moved,
      account.id,
    ]);
    try {
      expect((await requestReset(account.email)).statusCode).toBe(202);
      await tokenIssueWaitsOnALock();
      await change.query('COMMIT');
    } finally {
      await change.end();
    }
    await expect(smtp.next(account.email, 1_000)).rejects.toThrow(/no mail/);
    expect(
      await t.db.query('SELECT 1 FROM password_reset_tokens WHERE user_id = $1', [account.id]),
    ).toEqual([]);
  });

  it('lets a confirmation and a new request for the same user run at once without a deadlock', async () => {
    const account = await newAccount(t, 'reset-crossing');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    const tokens = t.app.get(PasswordResetTokensRepository);
    // A confirmation, held open between spending the token and changing the user (as confirm()
    // does, with the new password's hash in between), while a new request's token is issued.
    await t.app.get(PrismaService).$transaction(async (tx) => {
      const tokenHash = Uint8Array.from(createHash('sha256').update(token).digest());
      expect(await tokens.claim(tokenHash, new Date(), tx)).toBe(account.id);
      expect((await requestReset(account.email)).statusCode).toBe(202);
      await tokenIssueWaitsOnALock();
      await tx.$executeRaw`UPDATE users SET full_name = 'changed' WHERE id = ${account.id}::uuid`;
    });
    // The new request went through after the confirmation: its link is mailed and works.
    const second = tokenFrom((await smtp.next(account.email)).text ?? '');
    expect((await confirm(second, 'after the crossing')).statusCode).toBe(204);
  });

  it('lets exactly one of several concurrent confirmations spend a token', async () => {
    const account = await newAccount(t, 'reset-race');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => confirm(token, `racing password ${i}`)),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([204, 400, 400, 400, 400, 400, 400, 400]);
    const winner = results.findIndex((r) => r.statusCode === 204);
    await login(t, account.email, `racing password ${winner}`);
  });

  it('evicts whoever holds a session: their requests in flight at the reset do not commit after it (401)', async () => {
    // Someone holds the victim's session (and knows the old password). Their writes had passed
    // the guard when the victim's reset began; a lock held by the test on the user's row queues
    // the reset first and the writes behind it.
    const victim = await newAccount(t, 'reset-evicts');
    const held = bearer(victim.tokens.accessToken);
    await requestReset(victim.email);
    const token = tokenFrom((await smtp.next(victim.email)).text ?? '');
    const holder = await openTransaction(t, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [
      victim.id,
    ]);
    try {
      const reset = confirm(token, 'the victim’s new password');
      await untilWaitingOnLocks(t, 1);
      const writes = [
        post(
          t,
          '/users/me/password',
          {
            currentPassword: victim.password,
            newPassword: 'the intruder’s password',
          },
          held,
        ),
        post(t, '/auth/api-keys', { name: 'backdoor', scopes: ['users:read'] }, held),
        t.request({
          method: 'PATCH',
          url: '/users/me',
          payload: { email: uniqueEmail('intruder') },
          headers: held,
        }),
      ];
      await untilWaitingOnLocks(t, 4);
      await holder.query('COMMIT');
      expect((await reset).statusCode).toBe(204);
      for (const res of await Promise.all(writes)) {
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('invalid_token');
      }
    } finally {
      await holder.end();
    }
    await login(t, victim.email, 'the victim’s new password');
    expect(await t.db.query('SELECT 1 FROM api_keys WHERE user_id = $1', [victim.id])).toEqual([]);
  });

  it('mails nothing to a deactivated account', async () => {
    const admin = await login(t, TEST_SUPERUSER.email, TEST_SUPERUSER.password);
    const account = await newAccount(t, 'reset-inactive');
    await t.request({
      method: 'PATCH',
      url: `/users/${account.id}`,
      headers: bearer(admin.accessToken),
      payload: { isActive: false },
    });
    expect((await requestReset(account.email)).statusCode).toBe(202);
    await expect(smtp.next(account.email, 500)).rejects.toThrow(/no mail/);
  });

  it('revokes the account’s API keys with the reset (account recovery)', async () => {
    const account = await newAccount(t, 'reset-keys');
    const created = await post(
      t,
      '/auth/api-keys',
      { name: 'left behind', scopes: ['users:read'] },
      bearer(account.tokens.accessToken),
    );
    const { key } = created.json();
    const withKey = () =>
      t.request({ method: 'GET', url: '/users/me', headers: { 'x-api-key': key } });
    expect((await withKey()).statusCode).toBe(200);
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    expect((await confirm(token, 'recovered password')).statusCode).toBe(204);
    expect((await withKey()).statusCode).toBe(401);
  });

  it('answers an unknown email exactly like a known one, and mails nothing', async () => {
    const known = await newAccount(t, 'reset-known');
    const unknownEmail = uniqueEmail('nobody');
    const a = await requestReset(known.email);
    const b = await requestReset(unknownEmail);
    expect([b.statusCode, b.body, b.headers['content-type']]).toEqual([
      a.statusCode,
      a.body,
      a.headers['content-type'],
    ]);
    await smtp.next(known.email);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.messages.some((m) => m.to && JSON.stringify(m.to).includes(unknownEmail))).toBe(
      false,
    );
  });

  it('takes the same time for an unknown email as for a known one (median of 15)', async () => {
    const knownEmails = await Promise.all(
      Array.from({ length: 15 }, async () => (await newAccount(t, 'timing')).email),
    );
    const time = async (email: string) => {
      const started = process.hrtime.bigint();
      const res = await requestReset(email);
      expect(res.statusCode).toBe(202);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const median = (values: number[]) => values.sort((x, y) => x - y)[values.length >> 1];
    const known: number[] = [];
    const unknown: number[] = [];
    for (const email of knownEmails) {
      known.push(await time(email));
      unknown.push(await time(uniqueEmail('timing-nobody')));
    }
    const [k, u] = [median(known), median(unknown)];
    // Sending the mail on the request path would add an SMTP exchange to the known emails.
    expect(Math.abs(k - u)).toBeLessThan(Math.max(3, 0.3 * Math.max(k, u)));
    await Promise.all(knownEmails.map((email) => smtp.next(email)));
  });

  it('limits requests per email and per client IP (429 with Retry-After)', async () => {
    const email = uniqueEmail('reset-limit');
    for (let i = 0; i < 3; i++) expect((await requestReset(email)).statusCode).toBe(202);
    const limited = await requestReset(email);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('too_many_attempts');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const ip = freshIp();
    for (let i = 0; i < 20; i++) {
      expect((await requestReset(uniqueEmail('reset-ip'), ip)).statusCode).toBe(202);
    }
    const fromIp = await requestReset(uniqueEmail('reset-ip'), ip);
    expect(fromIp.statusCode).toBe(429);
    expect(Number(fromIp.headers['retry-after'])).toBeGreaterThan(0);
    // Another client is not affected.
    expect((await requestReset(uniqueEmail('reset-ip'))).statusCode).toBe(202);
  });

  it('records the request and the completion in the audit trail', async () => {
    const account = await newAccount(t, 'reset-audit');
    await requestReset(account.email);
    const token = tokenFrom((await smtp.next(account.email)).text ?? '');
    await confirm(token, 'audited new password');
    const fresh = await login(t, account.email, 'audited new password');
    const events = (await get(t, '/users/me/security-events', fresh.accessToken)).json();
    const types = events.map((e: { type: string }) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['password_reset_requested', 'password_reset_completed']),
    );
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('rejects bad bodies with 400 validation_failed', async () => {
    for (const payload of [{}, { email: 'not-an-email' }, { email: 'a@example.com', extra: 1 }]) {
      const res = await post(t, '/auth/password-reset/request', payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    for (const payload of [{}, { token: 'x' }, { token: '', newPassword: 'long enough' }]) {
      expect((await post(t, '/auth/password-reset/confirm', payload)).json().code).toBe(
        'validation_failed',
      );
    }
  });
});

describe('password reset mail without SMTP, or with SMTP failing', () => {
  it('writes the link whole to the log in development, so the flow can be followed locally', async () => {
    const logs = captureLogs('info');
    const t = await createTestApp(
      { NODE_ENV: 'development', PASSWORD_RESET_URL: RESET_URL },
      { logger: logs.logger },
    );
    try {
      const account = await newAccount(t, 'reset-dev');
      await post(t, '/auth/password-reset/request', { email: account.email });
      await within(5_000, async () => logs.text().includes('Mail not sent'));
      const line = logs.lines().find((l) => String(l.msg).includes('Mail not sent'));
      const token = tokenFrom(String(line?.msg));
      expect(
        (await post(t, '/auth/password-reset/confirm', { token, newPassword: 'from the log' }))
          .statusCode,
      ).toBe(204);
    } finally {
      await t.close();
    }
  });

  it('writes the message to the log with the token redacted (outside development)', async () => {
    const logs = captureLogs('info');
    const t = await createTestApp({ PASSWORD_RESET_URL: RESET_URL }, { logger: logs.logger });
    try {
      const account = await newAccount(t, 'reset-log');
      expect(
        (await post(t, '/auth/password-reset/request', { email: account.email })).statusCode,
      ).toBe(202);
      await within(5_000, async () => logs.text().includes('Mail not sent'));
      expect(logs.text()).toContain(`${RESET_URL}?token=[REDACTED]`);
      const [, token] = /token=([A-Za-z0-9_-]{43})/.exec(logs.text()) ?? [];
      expect(token).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('still answers 202 when the SMTP server cannot be reached, and logs why', async () => {
    const logs = captureLogs('info');
    const t = await createTestApp(
      { SMTP_URL: 'smtp://127.0.0.1:1', PASSWORD_RESET_URL: RESET_URL },
      { logger: logs.logger },
    );
    try {
      const account = await newAccount(t, 'reset-smtp-down');
      const res = await post(t, '/auth/password-reset/request', { email: account.email });
      expect(res.statusCode).toBe(202);
      await within(15_000, async () => logs.text().includes('could not be sent'));
    } finally {
      await t.close();
    }
  });
});
