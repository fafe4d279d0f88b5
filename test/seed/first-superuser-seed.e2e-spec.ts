import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verify } from 'argon2';
import { prisma, tsx, type RunResult } from '../support/run';
import { TEST_JWT_SECRET } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const EMAIL = 'root@example.com';
const PASSWORD_LINE = /^FIRST_SUPERUSER_PASSWORD=(.*)$/gm;

function seedEnvironment(db: TestDatabase, env: Record<string, string>) {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'auth-seed-')),
    FIRST_SUPERUSER: EMAIL,
    FIRST_SUPERUSER_PASSWORD: '',
    DATABASE_URL: db.url,
    ...env,
  };
}

/** `npx prisma db seed`, as a user runs it (prisma.config.ts runs prisma/seed.ts). */
function prismaDbSeed(db: TestDatabase, env: Record<string, string> = {}) {
  return prisma(['db', 'seed'], db.url, seedEnvironment(db, env));
}

/** prisma/seed.ts directly, as `prisma db seed` runs it, without the CLI's start-up time. */
function seedWith(db: TestDatabase, env: Record<string, string> = {}) {
  return tsx('prisma/seed.ts', [], seedEnvironment(db, env));
}

const printed = (result: RunResult) => [...result.stdout.matchAll(PASSWORD_LINE)].map((m) => m[1]);

async function superusers(db: TestDatabase) {
  return db.query<{
    email: string;
    password_hash: string;
    is_superuser: boolean;
    is_active: boolean;
  }>('SELECT email, password_hash, is_superuser, is_active FROM users');
}

describe('first-superuser seed (`npx prisma db seed`)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  it('creates FIRST_SUPERUSER with a generated password printed exactly once', async () => {
    const result = await prismaDbSeed(db);
    expect(result.code).toBe(0);
    const [password, ...more] = printed(result);
    expect(more).toEqual([]);
    // 32 bytes from the CSPRNG, base64url: secrets.token_urlsafe(32).
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const users = await superusers(db);
    expect(users).toEqual([
      {
        email: EMAIL,
        password_hash: expect.stringMatching(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/),
        is_superuser: true,
        is_active: true,
      },
    ]);
    await expect(verify(users[0].password_hash, password)).resolves.toBe(true);
    // The password is on its own line only: not in any log line, not on stderr.
    const otherOutput = result.stdout.replace(PASSWORD_LINE, '') + result.stderr;
    expect(otherOutput).not.toContain(password);
  });

  it('is idempotent: a second run prints nothing and changes nothing', async () => {
    const first = await seedWith(db);
    const [hashBefore] = (await superusers(db)).map((u) => u.password_hash);
    const second = await seedWith(db);
    expect(second.code).toBe(0);
    expect(printed(first)).toHaveLength(1);
    expect(printed(second)).toEqual([]);
    expect((await superusers(db)).map((u) => u.password_hash)).toEqual([hashBefore]);
  });

  it('run three times at once, leaves one superuser and prints one password', async () => {
    const results = await Promise.all([seedWith(db), seedWith(db), seedWith(db)]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const passwords = results.flatMap(printed);
    expect(passwords).toHaveLength(1);
    const users = await superusers(db);
    expect(users).toHaveLength(1);
    await expect(verify(users[0].password_hash, passwords[0])).resolves.toBe(true);
  });

  it('uses FIRST_SUPERUSER_PASSWORD when given, and prints nothing', async () => {
    const result = await seedWith(db, { FIRST_SUPERUSER_PASSWORD: 'a-chosen-password' });
    expect(result.code).toBe(0);
    expect(printed(result)).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain('a-chosen-password');
    const [user] = await superusers(db);
    await expect(verify(user.password_hash, 'a-chosen-password')).resolves.toBe(true);
  });

  it('never changes the password of an existing user with that email', async () => {
    await seedWith(db, { FIRST_SUPERUSER_PASSWORD: 'the-original-password' });
    await seedWith(db, { FIRST_SUPERUSER_PASSWORD: 'an-attempted-override' });
    const [user] = await superusers(db);
    await expect(verify(user.password_hash, 'the-original-password')).resolves.toBe(true);
  });
});

describe('seed on a database without the schema yet', () => {
  it('applies the migrations, then seeds', async () => {
    const empty = await createTestDatabase();
    try {
      await empty.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      const result = await seedWith(empty);
      expect(result.code).toBe(0);
      expect(printed(result)).toHaveLength(1);
      expect(await superusers(empty)).toHaveLength(1);
    } finally {
      await empty.drop();
    }
  });
});
