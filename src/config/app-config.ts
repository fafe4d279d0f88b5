import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { z } from 'zod';
import { isAcceptablePasswordLength, normalizeEmail } from '../common/credentials';
import { ConfigError } from './config-error';
import { environmentSchema, type Environment } from './config.schema';
import { developmentJwtPrivateKey, developmentJwtSecret } from './development-secrets';

export type JwtAlgorithm = Environment['JWT_ALGORITHM'];

/**
 * The validated configuration, read once at boot. Also the DI token: inject `AppConfig`.
 * Nothing else in the service reads process.env (prisma.config.ts, the Prisma CLI's own
 * configuration, does, for the CLI).
 */
export abstract class AppConfig {
  abstract readonly env: Environment['NODE_ENV'];
  abstract readonly logLevel: Environment['LOG_LEVEL'];
  abstract readonly http: {
    readonly port: number;
    readonly host: string;
    readonly bodyLimitBytes: number;
    readonly corsOrigins: readonly string[];
    readonly trustProxy: readonly string[];
    /**
     * After SIGTERM, how long the service goes on serving (readiness 503, responses asking the
     * client to close its connection) before it stops accepting connections: the time a load
     * balancer takes to stop sending it requests.
     */
    readonly shutdownDelaySeconds: number;
  };
  abstract readonly database: {
    /** Unset: the embedded PostgreSQL under dataDir. */
    readonly url: string | undefined;
    readonly poolSize: number;
    /** Absolute path. */
    readonly dataDir: string;
  };
  abstract readonly jwt: {
    readonly algorithm: JwtAlgorithm;
    /** HS256: the secret; RS256/ES256: the private key. */
    readonly signingKey: KeyObject;
    /** RS256/ES256: the signing key's public half; HS256: the secret. */
    readonly verificationKey: KeyObject;
    /**
     * Verification-only keys, for rotations: public keys (RS256/ES256) or secrets (HS256) of the
     * signing key before the current one, or of the one that comes next.
     */
    readonly previousKeys: readonly KeyObject[];
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtlSeconds: number;
  };
  abstract readonly refreshTokens: {
    readonly ttlSeconds: number;
    readonly reuseGraceSeconds: number;
  };
  abstract readonly firstSuperuser: {
    readonly email: string;
    readonly password: string | undefined;
  };
  abstract readonly signupEnabled: boolean;
  abstract readonly loginMaxFailures: number;
  abstract readonly ipRateLimitPerMinute: number;
  abstract readonly mail: { readonly smtpUrl: string | undefined; readonly from: string };
  abstract readonly passwordReset: { readonly url: string; readonly ttlSeconds: number };
  abstract readonly redisUrl: string | undefined;
  abstract readonly auditRetentionDays: number;
  abstract readonly argon2: {
    readonly memoryKib: number;
    readonly timeCost: number;
    readonly parallelism: number;
  };
}

/**
 * Behind a load balancer, requests keep arriving for a few seconds after an instance is told to
 * stop (its health checks, or Kubernetes' endpoint updates, take that long to notice). Outside
 * production nothing is in front of the service, and Ctrl-C (SIGINT) never waits.
 */
const PRODUCTION_SHUTDOWN_DELAY_SECONDS = 5;

const MIN_SECRET_BYTES = 32;
/**
 * In production a secret must also not be plainly predictable: no string repeated over and over
 * (`aaaa…`, `changemechangeme…`), and at least this much by the frequencies of its characters
 * (its length times their Shannon entropy). That estimate is rough (a short random string comes
 * out somewhat below its real entropy: 16 random bytes in hex, 128 bits, anywhere from about 90),
 * so the floor is low enough for any random secret and catches only strings of a few characters.
 */
const MIN_PRODUCTION_SECRET_ESTIMATE = 64;

/** An empty value counts as unset (contract, "Configuration"). */
function withoutEmptyValues(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => !!entry[1]?.trim()),
  );
}

/** PEM pasted into a single-line variable often arrives with literal "\n". */
function pem(value: string): string {
  return value.includes('\n') ? value : value.replaceAll('\\n', '\n');
}

function parse<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>): T {
  const result = schema.safeParse(withoutEmptyValues(env));
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`,
  );
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

function checkKeyType(key: KeyObject, algorithm: 'RS256' | 'ES256', variable: string): void {
  const details = key.asymmetricKeyDetails;
  const fits =
    algorithm === 'RS256'
      ? key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048
      : key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (!fits) {
    const expected = algorithm === 'RS256' ? 'an RSA key of at least 2048 bits' : 'a P-256 EC key';
    throw new ConfigError(
      `Invalid configuration: ${variable} must be ${expected} for ${algorithm}`,
    );
  }
}

function jwtKeys(
  e: Environment,
  dataDir: string,
): Pick<AppConfig['jwt'], 'signingKey' | 'verificationKey' | 'previousKeys'> {
  const production = e.NODE_ENV === 'production';
  // A key for the other kind of algorithm would be ignored: most likely JWT_ALGORITHM was forgotten.
  const misplaced =
    e.JWT_ALGORITHM === 'HS256'
      ? (['JWT_PRIVATE_KEY', 'JWT_PREVIOUS_PUBLIC_KEYS'] as const).find((name) => e[name])
      : e.JWT_PREVIOUS_SECRETS && 'JWT_PREVIOUS_SECRETS';
  if (misplaced) {
    const wanted = misplaced === 'JWT_PREVIOUS_SECRETS' ? 'HS256' : 'RS256 or ES256';
    throw new ConfigError(
      `Invalid configuration: ${misplaced} is only used with JWT_ALGORITHM ${wanted} (it is ${e.JWT_ALGORITHM})`,
    );
  }
  if (e.JWT_ALGORITHM === 'HS256') {
    if (!e.JWT_SECRET && production) {
      throw new ConfigError(
        'Invalid configuration: JWT_SECRET is required in production with HS256 (generate one with `npm run secrets -- token`)',
      );
    }
    const key = secretKey(e.JWT_SECRET ?? developmentJwtSecret(dataDir), 'JWT_SECRET', production);
    const previousKeys = (e.JWT_PREVIOUS_SECRETS ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => secretKey(entry, 'each JWT_PREVIOUS_SECRETS entry', production));
    return { signingKey: key, verificationKey: key, previousKeys };
  }

  const algorithm = e.JWT_ALGORITHM;
  if (!e.JWT_PRIVATE_KEY && production) {
    throw new ConfigError(
      `Invalid configuration: JWT_PRIVATE_KEY is required in production with ${algorithm} (generate one with \`npm run secrets -- keypair --alg ${algorithm}\`)`,
    );
  }
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(
      pem(e.JWT_PRIVATE_KEY ?? developmentJwtPrivateKey(dataDir, algorithm)),
    );
  } catch {
    throw new ConfigError('Invalid configuration: JWT_PRIVATE_KEY is not a PEM private key');
  }
  checkKeyType(signingKey, algorithm, 'JWT_PRIVATE_KEY');

  const blocks =
    pem(e.JWT_PREVIOUS_PUBLIC_KEYS ?? '').match(
      /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g,
    ) ?? [];
  if (e.JWT_PREVIOUS_PUBLIC_KEYS && blocks.length === 0) {
    throw new ConfigError(
      'Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must hold PEM public keys (BEGIN PUBLIC KEY)',
    );
  }
  const previousKeys = blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch {
      throw new ConfigError(
        'Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS holds a key that cannot be read',
      );
    }
    checkKeyType(key, algorithm, 'JWT_PREVIOUS_PUBLIC_KEYS');
    return key;
  });
  return { signingKey, verificationKey: createPublicKey(signingKey), previousKeys };
}

/**
 * An HS256 key: the secret's UTF-8 bytes, at least MIN_SECRET_BYTES of them, and in production
 * no plainly predictable string (see MIN_PRODUCTION_SECRET_ESTIMATE).
 */
function secretKey(secret: string, name: string, production: boolean): KeyObject {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `Invalid configuration: ${name} must be at least ${MIN_SECRET_BYTES} bytes (it has ${bytes})`,
    );
  }
  const weakness = production ? predictability(secret) : undefined;
  if (weakness) {
    throw new ConfigError(
      `Invalid configuration: ${name} is too predictable for production (${weakness}); generate one with \`npm run secrets -- token\``,
    );
  }
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** Why a secret is plainly predictable (see MIN_PRODUCTION_SECRET_ESTIMATE), if it is. */
function predictability(secret: string): string | undefined {
  // A string is a repetition of a shorter one exactly when it occurs in itself doubled before
  // its own length.
  if ((secret + secret).indexOf(secret, 1) < secret.length) return 'a shorter string repeated';
  const estimate = Math.floor(frequencyEntropyBits(secret));
  if (estimate < MIN_PRODUCTION_SECRET_ESTIMATE) {
    return `too few different characters: ${estimate} by their frequencies, at least ${MIN_PRODUCTION_SECRET_ESTIMATE}`;
  }
  return undefined;
}

/** The string's length times the Shannon entropy of its characters' frequencies, in bits. */
function frequencyEntropyBits(text: string): number {
  const characters = [...text];
  const counts = new Map<string, number>();
  for (const character of characters) counts.set(character, (counts.get(character) ?? 0) + 1);
  let perCharacter = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    perCharacter -= p * Math.log2(p);
  }
  return perCharacter * characters.length;
}

/**
 * Parses and validates the environment. Throws ConfigError, one line naming each invalid variable
 * (all of them for malformed values; the first for production refusals and keys). Outside
 * production, a missing JWT secret or key is generated once and kept under DATA_DIR.
 */
export function loadAppConfig(
  env: Record<string, string | undefined>,
  { cwd = process.cwd() }: { cwd?: string } = {},
): AppConfig {
  const e = parse(environmentSchema, env);
  const production = e.NODE_ENV === 'production';
  if (production && !e.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL is required in production (the embedded PostgreSQL is for development)',
    );
  }
  if (e.FIRST_SUPERUSER_PASSWORD && !isAcceptablePasswordLength(e.FIRST_SUPERUSER_PASSWORD)) {
    throw new ConfigError(
      'Invalid configuration: FIRST_SUPERUSER_PASSWORD must be 8 to 128 characters',
    );
  }
  const dataDir = path.resolve(cwd, e.DATA_DIR);

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: {
      port: e.PORT,
      host: e.HOST,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      corsOrigins: e.CORS_ORIGINS,
      trustProxy: e.TRUST_PROXY,
      shutdownDelaySeconds:
        e.SHUTDOWN_DELAY_SECONDS ?? (production ? PRODUCTION_SHUTDOWN_DELAY_SECONDS : 0),
    },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, dataDir },
    jwt: {
      algorithm: e.JWT_ALGORITHM,
      ...jwtKeys(e, dataDir),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    },
    refreshTokens: {
      ttlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      reuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    },
    firstSuperuser: {
      email: normalizeEmail(e.FIRST_SUPERUSER),
      password: e.FIRST_SUPERUSER_PASSWORD,
    },
    signupEnabled: e.SIGNUP_ENABLED,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    ipRateLimitPerMinute: e.IP_RATE_LIMIT_PER_MINUTE,
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    passwordReset: { url: e.PASSWORD_RESET_URL, ttlSeconds: e.PASSWORD_RESET_TTL_SECONDS },
    redisUrl: e.REDIS_URL,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    argon2: {
      memoryKib: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_TIME_COST,
      parallelism: e.ARGON2_PARALLELISM,
    },
  };
}

/** The process environment, read here and nowhere else. */
export function loadAppConfigFromProcess(): AppConfig {
  return loadAppConfig(process.env);
}

/**
 * Only the database settings, for tools that need nothing else (`npm run prisma`), so they run
 * wherever the database is reachable, whatever the rest of the configuration says.
 */
export function loadDatabaseConfigFromProcess({
  cwd = process.cwd(),
}: { cwd?: string } = {}): AppConfig['database'] {
  const e = parse(
    environmentSchema.pick({ DATABASE_URL: true, DATABASE_POOL_SIZE: true, DATA_DIR: true }),
    process.env,
  );
  return {
    url: e.DATABASE_URL,
    poolSize: e.DATABASE_POOL_SIZE,
    dataDir: path.resolve(cwd, e.DATA_DIR),
  };
}
