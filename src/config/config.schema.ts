import { isIP } from 'node:net';
import { z } from 'zod';
import { EMAIL_PATTERN } from '../common/credentials';

/**
 * The service's environment variables, as the contract's configuration table lists them, plus a
 * few operational ones (LOG_LEVEL, BODY_LIMIT_BYTES, DATABASE_POOL_SIZE, SHUTDOWN_DELAY_SECONDS)
 * and HS256's counterpart of JWT_PREVIOUS_PUBLIC_KEYS (JWT_PREVIOUS_SECRETS). Values are strings;
 * an empty value has already been removed (it counts as unset).
 */

const boundedInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be an integer between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be an integer between ${min} and ${max}` })
        .max(max, { error: `must be an integer between ${min} and ${max}` }),
    );

const integer = (min: number, max: number, fallback: number) =>
  boundedInteger(min, max).default(fallback);

const boolean = (fallback: boolean) =>
  z.stringbool({ error: 'must be true or false' }).default(fallback);

const list = (item: (value: string) => string | undefined) =>
  z
    .string()
    .transform((value, ctx) => {
      const items = value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      for (const entry of items) {
        const problem = item(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
      return items;
    })
    .default([]);

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL like ${example}` },
  );

const originProblem = (entry: string): string | undefined => {
  if (entry === '*') return 'must list exact origins; "*" is not allowed';
  let parsed: URL | undefined;
  try {
    parsed = new URL(entry);
  } catch {
    parsed = undefined;
  }
  const isOrigin =
    parsed && ['http:', 'https:'].includes(parsed.protocol) && parsed.origin === entry;
  return isOrigin ? undefined : `"${entry}" is not an origin like https://app.example.com`;
};

const PROXY_ADDR_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const proxyProblem = (entry: string): string | undefined => {
  if (PROXY_ADDR_NAMES.has(entry)) return undefined;
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address);
  const maxBits = version === 4 ? 32 : 128;
  const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
  return version && validBits && rest.length === 0
    ? undefined
    : `"${entry}" is not an IP address or CIDR range`;
};

/** Where reset links point unless PASSWORD_RESET_URL says otherwise (a development server). */
export const DEFAULT_PASSWORD_RESET_URL = 'http://localhost:3000/reset-password';

export const environmentSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be development, production or test',
    })
    .default('development'),
  PORT: integer(0, 65535, 3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024, 64 * 1024),
  // Unset: a default that depends on NODE_ENV (see loadAppConfig).
  SHUTDOWN_DELAY_SECONDS: boundedInteger(0, 300).optional(),

  DATABASE_URL: url(
    ['postgres:', 'postgresql:'],
    'postgresql://user:password@host:5432/db',
  ).optional(),
  DATABASE_POOL_SIZE: integer(1, 200, 10),
  DATA_DIR: z.string().default('.data'),

  JWT_ALGORITHM: z
    .enum(['HS256', 'RS256', 'ES256'], { error: 'must be HS256, RS256 or ES256' })
    .default('HS256'),
  JWT_SECRET: z.string().optional(),
  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_PREVIOUS_PUBLIC_KEYS: z.string().optional(),
  JWT_PREVIOUS_SECRETS: z.string().optional(),
  JWT_ISSUER: z.string().default('auth-service'),
  JWT_AUDIENCE: z.string().default('auth-service'),
  ACCESS_TOKEN_TTL_SECONDS: integer(30, 24 * 3600, 900),
  REFRESH_TOKEN_TTL_SECONDS: integer(60, 365 * 24 * 3600, 2_592_000),
  REFRESH_REUSE_GRACE_SECONDS: integer(0, 300, 10),

  FIRST_SUPERUSER: z
    .string()
    .trim()
    .pipe(z.email({ pattern: EMAIL_PATTERN, error: 'must be an email address' }))
    .default('admin@example.com'),
  FIRST_SUPERUSER_PASSWORD: z.string().optional(),
  SIGNUP_ENABLED: boolean(true),
  LOGIN_MAX_FAILURES: integer(1, 1000, 5),

  SMTP_URL: url(['smtp:', 'smtps:'], 'smtp://user:password@mail.example.com:587').optional(),
  MAIL_FROM: z.string().default('Auth Service <no-reply@localhost>'),
  // In its serialised form (spaces and other unsafe characters escaped), as links are mailed.
  PASSWORD_RESET_URL: url(['http:', 'https:'], 'https://app.example.com/reset-password')
    .transform((value) => new URL(value).href)
    .default(DEFAULT_PASSWORD_RESET_URL),
  PASSWORD_RESET_TTL_SECONDS: integer(60, 7 * 24 * 3600, 3600),

  REDIS_URL: url(['redis:', 'rediss:'], 'redis://localhost:6379').optional(),
  CORS_ORIGINS: list(originProblem),
  TRUST_PROXY: list(proxyProblem),
  IP_RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000, 300),
  AUDIT_RETENTION_DAYS: integer(1, 3650, 90),

  ARGON2_MEMORY_KIB: integer(8, 4 * 1024 * 1024, 19_456),
  ARGON2_TIME_COST: integer(1, 100, 2),
  ARGON2_PARALLELISM: integer(1, 16, 1),
});

export type Environment = z.output<typeof environmentSchema>;
