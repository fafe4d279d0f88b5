import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSync } from '../common/files';
import { generateSigningKeyPair, type AsymmetricJwtAlgorithm } from '../common/signing-keys';

/**
 * Secrets generated for development, kept under DATA_DIR (mode 0600) so that tokens survive
 * restarts. Never used in production, where the configuration must name its own.
 */

/** 32 bytes from the CSPRNG, base64url; used as its UTF-8 bytes like any JWT_SECRET. */
export function developmentJwtSecret(dataDir: string): string {
  return readOrCreateSync(path.join(dataDir, 'jwt-secret'), () =>
    randomBytes(32).toString('base64url'),
  ).trim();
}

/** A PKCS#8 PEM signing key for RS256 (RSA 2048) or ES256 (P-256). */
export function developmentJwtPrivateKey(
  dataDir: string,
  algorithm: AsymmetricJwtAlgorithm,
): string {
  return readOrCreateSync(
    path.join(dataDir, `jwt-${algorithm.toLowerCase()}-private.pem`),
    () => generateSigningKeyPair(algorithm).privateKey,
  );
}
