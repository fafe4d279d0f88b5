import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair } from '../common/signing-keys';

/**
 * Operators' counterpart of Python's `secrets` module, for this service's configuration:
 *
 *   npm run secrets -- token [--bytes N] [--format urlsafe|hex|base64]   (JWT_SECRET, …)
 *   npm run secrets -- keypair --alg RS256|ES256                        (JWT_PRIVATE_KEY)
 *
 * Everything comes from the operating system's CSPRNG (crypto.randomBytes, generateKeyPair).
 */

export const USAGE = `Usage:
  npm run secrets -- token [--bytes N] [--format urlsafe|hex|base64]
      A random token: N bytes (default 32, 32 to 1024) from the CSPRNG. urlsafe (default) is
      base64url without padding, like Python's secrets.token_urlsafe; use it for JWT_SECRET.
  npm run secrets -- keypair --alg RS256|ES256
      A signing key pair: the PKCS#8 private key PEM (for JWT_PRIVATE_KEY), then its public key
      PEM (for JWKS consumers, or JWT_PREVIOUS_PUBLIC_KEYS after a rotation).
`;

const FORMATS = { urlsafe: 'base64url', hex: 'hex', base64: 'base64' } as const;
type Format = keyof typeof FORMATS;

class UsageError extends Error {}

export function token(bytes = 32, format: Format = 'urlsafe'): string {
  return randomBytes(bytes).toString(FORMATS[format]);
}

function parseBytes(value: string | undefined): number {
  if (value === undefined) return 32;
  // Never weaker than JWT_SECRET needs (32 bytes), whatever the format.
  if (!/^\d+$/.test(value) || Number(value) < 32 || Number(value) > 1024) {
    throw new UsageError(`--bytes must be an integer from 32 to 1024 (got "${value}")`);
  }
  return Number(value);
}

function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'urlsafe';
  if (!(value in FORMATS)) {
    throw new UsageError(`--format must be urlsafe, hex or base64 (got "${value}")`);
  }
  return value as Format;
}

function run(argv: string[]): string {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return USAGE;
  }
  if (command === 'token') {
    const { values } = parseArgs({
      args: rest,
      options: { bytes: { type: 'string' }, format: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    return `${token(parseBytes(values.bytes), parseFormat(values.format))}\n`;
  }
  if (command === 'keypair') {
    const { values } = parseArgs({
      args: rest,
      options: { alg: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.alg !== 'RS256' && values.alg !== 'ES256') {
      throw new UsageError(
        values.alg === undefined
          ? '--alg is required: RS256 or ES256'
          : `--alg must be RS256 or ES256 (got "${values.alg}")`,
      );
    }
    const { privateKey, publicKey } = generateSigningKeyPair(values.alg);
    return `${privateKey}${publicKey}`;
  }
  throw new UsageError(`unknown command "${command}" (expected token or keypair)`);
}

/** Runs the CLI; returns the exit code (0, or 2 for a usage error). */
export function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): number {
  try {
    out.write(run(argv));
    return 0;
  } catch (error) {
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const parseArgsError = String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (!(error instanceof UsageError) && !parseArgsError) throw error;
    err.write(`secrets: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
