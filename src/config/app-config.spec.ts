import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSigningKeyPair } from '../common/signing-keys';
import { loadAppConfig } from './app-config';
import { ConfigError } from './config-error';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes!!';

function load(env: Record<string, string | undefined>) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-config-'));
  return loadAppConfig({ DATA_DIR: dataDir, ...env });
}

function refusal(env: Record<string, string | undefined>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('applies the contract defaults', () => {
    const config = load({ JWT_SECRET: SECRET });
    expect(config).toMatchObject({
      env: 'development',
      http: {
        port: 3000,
        host: '0.0.0.0',
        bodyLimitBytes: 65_536,
        corsOrigins: [],
        trustProxy: [],
        shutdownDelaySeconds: 0,
      },
      database: { url: undefined, poolSize: 10 },
      jwt: {
        algorithm: 'HS256',
        issuer: 'auth-service',
        audience: 'auth-service',
        accessTokenTtlSeconds: 900,
      },
      refreshTokens: { ttlSeconds: 2_592_000, reuseGraceSeconds: 10 },
      firstSuperuser: { email: 'admin@example.com', password: undefined },
      signupEnabled: true,
      loginMaxFailures: 5,
      mail: { smtpUrl: undefined },
      passwordReset: { url: 'http://localhost:3000/reset-password', ttlSeconds: 3600 },
      redisUrl: undefined,
      ipRateLimitPerMinute: 300,
      auditRetentionDays: 90,
      argon2: { memoryKib: 19_456, timeCost: 2, parallelism: 1 },
    });
  });

  it('treats an empty value as unset', () => {
    const config = load({ JWT_SECRET: SECRET, PORT: '', DATABASE_URL: '', SIGNUP_ENABLED: '  ' });
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.signupEnabled).toBe(true);
  });

  it('keeps PASSWORD_RESET_URL in its serialised form, so a mailed link holds no raw space', () => {
    const config = load({
      JWT_SECRET: SECRET,
      PASSWORD_RESET_URL: 'https://app.example.com/reset password#/x',
    });
    expect(config.passwordReset.url).toBe('https://app.example.com/reset%20password#/x');
  });

  it('parses typed values', () => {
    const config = load({
      JWT_SECRET: SECRET,
      PORT: '8080',
      SIGNUP_ENABLED: 'false',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1,loopback',
      FIRST_SUPERUSER: '  Root@Example.COM ',
    });
    expect(config.http.port).toBe(8080);
    expect(config.signupEnabled).toBe(false);
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', 'loopback']);
    expect(config.firstSuperuser.email).toBe('root@example.com');
  });

  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT must be an integer between 0 and 65535$/],
    [{ PORT: '70000' }, /PORT must be an integer between 0 and 65535/],
    [{ NODE_ENV: 'prod' }, /NODE_ENV must be development, production or test/],
    [{ JWT_ALGORITHM: 'none' }, /JWT_ALGORITHM must be HS256, RS256 or ES256/],
    [{ SIGNUP_ENABLED: 'maybe' }, /SIGNUP_ENABLED must be true or false/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a URL like postgresql:/],
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS must list exact origins/],
    [
      { CORS_ORIGINS: 'https://a.example.com/path' },
      /CORS_ORIGINS "https:\/\/a.example.com\/path" is not an origin/,
    ],
    [
      { TRUST_PROXY: '10.0.0.0/99' },
      /TRUST_PROXY "10.0.0.0\/99" is not an IP address or CIDR range/,
    ],
    [{ FIRST_SUPERUSER: 'not-an-email' }, /FIRST_SUPERUSER must be an email address/],
    [{ FIRST_SUPERUSER_PASSWORD: 'short' }, /FIRST_SUPERUSER_PASSWORD must be 8 to 128 characters/],
    [{ REFRESH_REUSE_GRACE_SECONDS: '-1' }, /REFRESH_REUSE_GRACE_SECONDS must be an integer/],
    [{ BODY_LIMIT_BYTES: '10' }, /BODY_LIMIT_BYTES must be an integer between 1024 and 10485760/],
    [
      { JWT_PREVIOUS_SECRETS: 'short' },
      /each JWT_PREVIOUS_SECRETS entry must be at least 32 bytes/,
    ],
  ])('refuses %j with a one-line message naming the variable', (env, message) => {
    expect(refusal({ JWT_SECRET: SECRET, ...env })).toMatch(message);
  });

  it('reports every invalid variable at once', () => {
    const message = refusal({ JWT_SECRET: SECRET, PORT: 'x', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/PORT .*; LOG_LEVEL /);
  });

  it('never echoes a secret value in an error', () => {
    expect(refusal({ JWT_SECRET: 'hunter2-short' })).not.toContain('hunter2');
  });

  describe('in production', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgresql://u:p@db:5432/auth' };

    it('refuses to start without DATABASE_URL', () => {
      expect(refusal({ NODE_ENV: 'production', JWT_SECRET: SECRET })).toMatch(
        /DATABASE_URL is required in production/,
      );
    });

    it('refuses to start without a JWT secret for HS256', () => {
      expect(refusal(production)).toMatch(/JWT_SECRET is required in production/);
    });

    it('refuses a JWT secret shorter than 32 bytes', () => {
      expect(refusal({ ...production, JWT_SECRET: 'x'.repeat(31) })).toMatch(
        /JWT_SECRET must be at least 32 bytes \(it has 31\)/,
      );
    });

    it.each([
      ['one character repeated', 'a'.repeat(32), /a shorter string repeated/],
      ['a word repeated', 'changeme'.repeat(4), /a shorter string repeated/],
      ['two characters', 'ab'.repeat(16) + 'ba'.repeat(8), /too few different characters/],
      ['three digits', '012'.repeat(10) + '21', /too few different characters/],
    ])(
      'refuses a predictable JWT secret (%s), also among the previous ones',
      (_label, weak, why) => {
        expect(refusal({ ...production, JWT_SECRET: weak })).toMatch(
          new RegExp(`JWT_SECRET is too predictable for production \\(${why.source}`),
        );
        expect(
          refusal({ ...production, JWT_SECRET: SECRET, JWT_PREVIOUS_SECRETS: `${SECRET},${weak}` }),
        ).toMatch(/each JWT_PREVIOUS_SECRETS entry is too predictable/);
        // Outside production, length is all that is asked.
        expect(load({ JWT_SECRET: weak }).env).toBe('development');
      },
    );

    it.each([
      // 16 random bytes in hex whose characters' frequencies estimate only 93 (of 128 bits).
      '3d77ff6fbf6dfd7bdb6dd87f833076af',
      'q9Xv0dGk3oF8N2sL5wRj7yTq1cVb4mZe6hUa0pKx3Ds', // 32 bytes, base64url
      'kR2x9Vq0Lm8Tz3Nw5Yb7Hc1Jd4Fg6Sa0Pe2Uo8Ii9Ek=', // 32 bytes, base64
      'correct horse battery staple, twice over', // a passphrase
    ])('takes %s', (secret) => {
      expect(load({ ...production, JWT_SECRET: secret }).env).toBe('production');
    });

    it.each(['RS256', 'ES256'])('refuses %s without JWT_PRIVATE_KEY', (alg) => {
      expect(refusal({ ...production, JWT_ALGORITHM: alg })).toMatch(
        new RegExp(`JWT_PRIVATE_KEY is required in production with ${alg}`),
      );
    });

    it('starts with a strong secret and a database', () => {
      expect(load({ ...production, JWT_SECRET: SECRET }).env).toBe('production');
    });

    it('goes on serving for 5 s after SIGTERM unless SHUTDOWN_DELAY_SECONDS says otherwise', () => {
      const withDelay = (delay?: string) =>
        load({ ...production, JWT_SECRET: SECRET, SHUTDOWN_DELAY_SECONDS: delay }).http
          .shutdownDelaySeconds;
      expect(withDelay()).toBe(5);
      expect(withDelay('')).toBe(5);
      expect(withDelay('0')).toBe(0);
      expect(withDelay('30')).toBe(30);
      expect(refusal({ ...production, JWT_SECRET: SECRET, SHUTDOWN_DELAY_SECONDS: '301' })).toMatch(
        /SHUTDOWN_DELAY_SECONDS must be an integer between 0 and 300/,
      );
      expect(refusal({ JWT_SECRET: SECRET, SHUTDOWN_DELAY_SECONDS: '1.5' })).toMatch(
        /SHUTDOWN_DELAY_SECONDS must be an integer between 0 and 300/,
      );
    });
  });

  describe('JWT keys', () => {
    it('generates a development secret once, mode 0600, and reuses it', () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-secret-'));
      const first = loadAppConfig({ DATA_DIR: dataDir });
      const file = path.join(dataDir, 'jwt-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const secret = readFileSync(file, 'utf8').trim();
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      const second = loadAppConfig({ DATA_DIR: dataDir });
      expect(second.jwt.signingKey.export().equals(first.jwt.signingKey.export())).toBe(true);
      expect(first.jwt.signingKey.export().toString()).toBe(secret);
    });

    it('refuses a short secret in development too', () => {
      expect(refusal({ JWT_SECRET: 'short' })).toMatch(/JWT_SECRET must be at least 32 bytes/);
    });

    it.each(['RS256', 'ES256'] as const)('accepts a %s PKCS#8 key, with \\n escapes', (alg) => {
      const { privateKey, publicKey } = generateSigningKeyPair(alg);
      const config = load({
        JWT_ALGORITHM: alg,
        JWT_PRIVATE_KEY: privateKey.replaceAll('\n', '\\n'),
        JWT_PREVIOUS_PUBLIC_KEYS: publicKey,
      });
      expect(config.jwt.signingKey.type).toBe('private');
      expect(config.jwt.verificationKey.type).toBe('public');
      expect(config.jwt.previousKeys).toHaveLength(1);
    });

    it('HS256: accepts earlier (or next) secrets in JWT_PREVIOUS_SECRETS, for verification only', () => {
      const config = load({
        JWT_SECRET: SECRET,
        JWT_PREVIOUS_SECRETS: `${'a'.repeat(32)}, ${'b'.repeat(40)}`,
      });
      expect(config.jwt.previousKeys.map((key) => key.export().toString())).toEqual([
        'a'.repeat(32),
        'b'.repeat(40),
      ]);
      expect(config.jwt.signingKey.export().toString()).toBe(SECRET);
    });

    it.each([
      [
        { JWT_PRIVATE_KEY: 'any' },
        /JWT_PRIVATE_KEY is only used with JWT_ALGORITHM RS256 or ES256 \(it is HS256\)/,
      ],
      [
        { JWT_PREVIOUS_PUBLIC_KEYS: 'any' },
        /JWT_PREVIOUS_PUBLIC_KEYS is only used with JWT_ALGORITHM RS256 or ES256/,
      ],
      [
        { JWT_ALGORITHM: 'ES256', JWT_PREVIOUS_SECRETS: SECRET },
        /JWT_PREVIOUS_SECRETS is only used with JWT_ALGORITHM HS256 \(it is ES256\)/,
      ],
    ])('refuses %j, a key the algorithm would ignore', (env, message) => {
      expect(refusal({ JWT_SECRET: SECRET, ...env })).toMatch(message);
    });

    it('refuses a key of the wrong type for the algorithm', () => {
      const { privateKey } = generateSigningKeyPair('ES256');
      expect(refusal({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: privateKey })).toMatch(
        /JWT_PRIVATE_KEY must be an RSA key of at least 2048 bits for RS256/,
      );
    });

    it('refuses an RSA key under 2048 bits', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(refusal({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: pem })).toMatch(
        /at least 2048 bits/,
      );
    });

    it('refuses a private key that is not PEM', () => {
      expect(refusal({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: 'not a key' })).toMatch(
        /JWT_PRIVATE_KEY is not a PEM private key/,
      );
    });

    it('generates a development key pair for RS256 when none is given', () => {
      const config = load({ JWT_ALGORITHM: 'RS256' });
      expect(config.jwt.signingKey.asymmetricKeyType).toBe('rsa');
    });
  });
});
