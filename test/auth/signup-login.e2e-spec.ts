import { randomBytes } from 'node:crypto';
import { hash, argon2id, verify } from 'argon2';
import {
  decodeJwt,
  get,
  login,
  newAccount,
  post,
  superuserTokens,
  uniqueEmail,
} from '../support/auth';
import { openTransaction, untilWaitingOnLocks } from '../support/locks';
import { createTestApp, TEST_SUPERUSER, type TestApp } from '../support/test-app';

const PROBLEM = /^application\/problem\+json/;

describe('sign-up and login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('POST /auth/signup', () => {
    it('creates an active, ordinary user and answers 201 User, without any hash', async () => {
      const email = uniqueEmail('Signup').replace('signup', 'SignUp');
      const res = await post(t, '/auth/signup', {
        email: `  ${email.toUpperCase()} `,
        password: 'a-good-password',
        fullName: 'Ada Lovelace',
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: email.toLowerCase(),
        fullName: 'Ada Lovelace',
        isActive: true,
        isSuperuser: false,
        roles: [],
        createdAt: expect.stringMatching(/Z$/),
        updatedAt: expect.stringMatching(/Z$/),
      });
      expect(res.body).not.toMatch(/argon2|password/i);
    });

    it.each([
      [
        'special characters RFC 5322 allows in the local part',
        (id: string) => `o'b&c+${id}@example.com`,
      ],
      ['an IDN top-level domain (punycode)', (id: string) => `user-${id}@example.xn--p1ai`],
      [
        'a subdomain and a digit in the top-level label',
        (id: string) => `u.${id}@mail.example.c0m`,
      ],
    ])('accepts an address with %s', async (_what, address) => {
      const email = address(randomBytes(4).toString('hex'));
      const res = await post(t, '/auth/signup', { email, password: 'a-good-password' });
      expect(res.statusCode).toBe(201);
      expect(res.json().email).toBe(email);
    });

    it.each([
      ['no domain dot', 'user@localhost'],
      ['two dots in a row', 'a..b@example.com'],
      ['a leading dot', '.a@example.com'],
      ['a space', 'a b@example.com'],
      ['a hyphen ending the domain', 'a@example.com-'],
      ['an IP literal', 'a@[192.0.2.1]'],
      ['a local part over 64 characters', `${'x'.repeat(65)}@example.com`],
      [
        'more than 254 characters',
        `a@${'x'.repeat(62)}.${'y'.repeat(62)}.${'z'.repeat(62)}.${'w'.repeat(62)}.com`,
      ],
    ])('refuses an address with %s (400 validation_failed on email)', async (_what, email) => {
      const res = await post(t, '/auth/signup', { email, password: 'a-good-password' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'email' }] });
    });

    it('treats emails differing only in case as one account (409 email_taken)', async () => {
      const email = uniqueEmail();
      expect((await post(t, '/auth/signup', { email, password: 'password-one' })).statusCode).toBe(
        201,
      );
      const again = await post(t, '/auth/signup', {
        email: email.toUpperCase(),
        password: 'password-two',
      });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'email_taken' });
    });

    it.each([
      ['7 characters', 'short77'],
      ['129 characters', 'x'.repeat(129)],
      ['5000 characters', 'x'.repeat(5000)],
      ['empty', ''],
    ])(
      'refuses a password of %s with 400 weak_password, creating nothing',
      async (_what, password) => {
        const email = uniqueEmail();
        const res = await post(t, '/auth/signup', { email, password });
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.json()).toMatchObject({ code: 'weak_password' });
        expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
      },
    );

    it('measures passwords after NFKC: 8 full-width digits are 8 characters, and log in as ASCII', async () => {
      const email = uniqueEmail();
      const fullWidth = '\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18';
      expect((await post(t, '/auth/signup', { email, password: fullWidth })).statusCode).toBe(201);
      expect((await post(t, '/auth/login', { email, password: '12345678' })).statusCode).toBe(200);
    });

    it.each([
      [{ email: 'not-an-email', password: 'long-enough' }, 'email'],
      [{ email: `${'a'.repeat(250)}@x.io`, password: 'long-enough' }, 'email'],
      [{ password: 'long-enough' }, 'email'],
      [{ email: 'a@example.com', password: 12345678 }, 'password'],
      [{ email: 'a@example.com', password: 'long-enough', isSuperuser: true }, 'isSuperuser'],
      [{ email: 'a@example.com', password: 'long-enough', roles: ['admin'] }, 'roles'],
    ])('refuses %j with 400 validation_failed naming %s', async (body, field) => {
      const res = await post(t, '/auth/signup', body);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('is 403 signup_disabled when SIGNUP_ENABLED=false', async () => {
      const closed = await createTestApp({ SIGNUP_ENABLED: 'false' });
      try {
        const res = await post(closed, '/auth/signup', {
          email: uniqueEmail(),
          password: 'long-enough',
        });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ code: 'signup_disabled' });
      } finally {
        await closed.close();
      }
    });
  });

  describe('POST /auth/login', () => {
    it('answers 200 TokenPair with a JWT carrying exactly the contract claims', async () => {
      const account = await newAccount(t);
      const { tokens } = account;
      expect(tokens).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/),
        tokenType: 'Bearer',
        expiresIn: 900,
        refreshExpiresIn: expect.any(Number),
      });
      expect(tokens.refreshExpiresIn).toBeGreaterThan(2_592_000 - 10);
      expect(tokens.refreshExpiresIn).toBeLessThanOrEqual(2_592_000);
      const { header, payload } = decodeJwt(tokens.accessToken);
      expect(header).toEqual({
        alg: 'HS256',
        typ: 'JWT',
        kid: expect.stringMatching(/^[\w-]{43}$/),
      });
      expect(Object.keys(payload).sort()).toEqual([
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'roles',
        'sid',
        'sub',
      ]);
      expect(payload).toMatchObject({
        sub: account.id,
        iss: 'auth-service',
        aud: 'auth-service',
        roles: [],
      });
      expect(payload.exp - payload.iat).toBe(900);
    });

    it('answers login with Cache-Control: no-store', async () => {
      const { email, password } = await newAccount(t);
      const res = await post(t, '/auth/login', { email, password });
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('gives an unknown email and a wrong password the identical 401 invalid_credentials', async () => {
      const { email } = await newAccount(t);
      const wrong = await post(t, '/auth/login', { email, password: 'wrong-password' });
      const unknown = await post(t, '/auth/login', {
        email: uniqueEmail('nobody'),
        password: 'wrong-password',
      });
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(wrong.json()).toEqual(unknown.json());
      expect(wrong.json()).toMatchObject({ code: 'invalid_credentials' });
      const headers = (res: typeof wrong) => {
        const { date: _date, 'x-request-id': _id, ...rest } = res.headers;
        return rest;
      };
      expect(headers(wrong)).toEqual(headers(unknown));
      // RFC 9110: every 401 names a scheme; no token was involved, so no error code.
      expect(wrong.headers['www-authenticate']).toBe('Bearer');
    });

    it('takes as long for an unknown email as for a wrong password (medians of 20 within 30%)', async () => {
      // One wrong password per account: more on one account would be throttled (429).
      const emails = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const email = uniqueEmail('timing');
          await post(t, '/auth/signup', { email, password: 'the-right-password' });
          return email;
        }),
      );
      const time = async (body: object) => {
        const started = process.hrtime.bigint();
        const res = await post(t, '/auth/login', body);
        expect(res.statusCode).toBe(401);
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const median = (values: number[]) =>
        values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 20; i++) {
        wrong.push(await time({ email: emails[i], password: `wrong-${i}-password` }));
        unknown.push(await time({ email: uniqueEmail('ghost'), password: `wrong-${i}-password` }));
      }
      const [a, b] = [median(wrong), median(unknown)];
      expect(Math.abs(a - b) / Math.max(a, b)).toBeLessThan(0.3);
    });

    it('reveals account_disabled only after a correct password', async () => {
      const account = await newAccount(t);
      const admin = await superuserTokens(t);
      const patch = await t.request({
        method: 'PATCH',
        url: `/users/${account.id}`,
        headers: { authorization: `Bearer ${admin.accessToken}` },
        payload: { isActive: false },
      });
      expect(patch.statusCode).toBe(200);
      const wrong = await post(t, '/auth/login', {
        email: account.email,
        password: 'not-the-password',
      });
      expect(wrong.json()).toMatchObject({ status: 401, code: 'invalid_credentials' });
      const right = await post(t, '/auth/login', {
        email: account.email,
        password: account.password,
      });
      expect(right.json()).toMatchObject({ status: 403, code: 'account_disabled' });
    });

    it('re-hashes a password stored with other argon2 parameters at the next login', async () => {
      const account = await newAccount(t);
      const oldHash = await hash(account.password, {
        type: argon2id,
        memoryCost: 8192,
        timeCost: 1,
        parallelism: 1,
      });
      await t.db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [oldHash, account.id]);
      await login(t, account.email, account.password);
      const [{ password_hash }] = await t.db.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [account.id],
      );
      expect(password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      await expect(verify(password_hash, account.password)).resolves.toBe(true);
    });

    describe('racing a change of the account (a row lock held by the test orders them)', () => {
      /**
       * A change of the user's row, held open while a login with the current password runs: the
       * login reads the user and verifies the password, then its session insert waits for the
       * change, which commits; what the login answers and leaves behind is returned.
       */
      async function loginDuring(
        change: string,
        params: unknown[],
        email: string,
        password: string,
        waitingStatement = 'INSERT INTO sessions',
      ) {
        const holder = await openTransaction(t, change, params);
        try {
          const answer = post(t, '/auth/login', { email, password });
          await untilWaitingOnLocks(t, 1, waitingStatement);
          await holder.query('COMMIT');
          return await answer;
        } finally {
          await holder.end();
        }
      }

      it.each([
        [
          'a password changed',
          401,
          'invalid_credentials',
          'UPDATE users SET password_hash = $2 WHERE id = $1',
        ],
        [
          'the account deactivated',
          403,
          'account_disabled',
          'UPDATE users SET is_active = false WHERE id = $1',
        ],
        ['the account deleted', 401, 'invalid_credentials', 'DELETE FROM users WHERE id = $1'],
      ])(
        '%s meanwhile: %i %s and no new session (never a 500)',
        async (_label, status, code, change) => {
          const account = await newAccount(t, 'race');
          const params = change.includes('$2')
            ? [account.id, await hash('the new password', { type: argon2id })]
            : [account.id];
          const started = new Date();
          const res = await loginDuring(change, params, account.email, account.password);
          expect(res.statusCode).toBe(status);
          expect(res.json().code).toBe(code);
          const created = await t.db.query(
            'SELECT 1 FROM sessions WHERE user_id = $1 AND created_at >= $2',
            [account.id, started],
          );
          expect(created).toEqual([]);
        },
      );

      it('a password changed while an outdated hash is upgraded: the new password stays', async () => {
        const account = await newAccount(t, 'race-rehash');
        const outdated = await hash(account.password, {
          type: argon2id,
          memoryCost: 8192,
          timeCost: 1,
          parallelism: 1,
        });
        await t.db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [
          outdated,
          account.id,
        ]);
        const newHash = await hash('the new password', { type: argon2id });
        const res = await loginDuring(
          'UPDATE users SET password_hash = $1 WHERE id = $2',
          [newHash, account.id],
          account.email,
          account.password,
          'UPDATE "public"."users"',
        );
        expect(res.statusCode).toBe(401);
        const [{ password_hash }] = await t.db.query<{ password_hash: string }>(
          'SELECT password_hash FROM users WHERE id = $1',
          [account.id],
        );
        expect(password_hash).toBe(newHash);
      });

      it('an unrelated change (the name) meanwhile: the login goes through after it', async () => {
        const account = await newAccount(t, 'race-name');
        const res = await loginDuring(
          "UPDATE users SET full_name = 'renamed' WHERE id = $1",
          [account.id],
          account.email,
          account.password,
        );
        expect(res.statusCode).toBe(200);
        expect((await get(t, '/users/me', res.json().accessToken)).json().fullName).toBe('renamed');
      });
    });

    it('keeps password hashes out of every response', async () => {
      const admin = await superuserTokens(t);
      const bodies = [
        (await get(t, '/users/me', admin.accessToken)).body,
        (await get(t, '/users?limit=100', admin.accessToken)).body,
        (
          await post(t, '/auth/login', {
            email: TEST_SUPERUSER.email,
            password: TEST_SUPERUSER.password,
          })
        ).body,
      ];
      for (const body of bodies) expect(body).not.toMatch(/\$argon2|passwordHash|password_hash/);
    });
  });
});
