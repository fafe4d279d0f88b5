import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair, type AsymmetricJwtAlgorithm } from '../common/signing-keys';

/**
 * Secrets generated for development, kept under DATA_DIR so that tokens survive restarts.
 * Never used in production, where the configuration must name its own.
 */

function readOrCreate(file: string, create: () => string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // `wx` fails if the file exists, so two processes starting together keep one secret.
    writeFileSync(file, create(), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

/** 32 bytes from the CSPRNG, base64url; used as its UTF-8 bytes like any JWT_SECRET. */
export function developmentJwtSecret(dataDir: string): string {
  return readOrCreate(path.join(dataDir, 'jwt-secret'), () =>
    randomBytes(32).toString('base64url'),
  );
}

/** A PKCS#8 PEM signing key for RS256 (RSA 2048) or ES256 (P-256). */
export function developmentJwtPrivateKey(
  dataDir: string,
  algorithm: AsymmetricJwtAlgorithm,
): string {
  return readOrCreate(
    path.join(dataDir, `jwt-${algorithm.toLowerCase()}-private.pem`),
    () => generateSigningKeyPair(algorithm).privateKey,
  );
}
