import { generateKeyPairSync } from 'node:crypto';

export type AsymmetricJwtAlgorithm = 'RS256' | 'ES256';

/** A fresh JWT signing key pair as PEM: PKCS#8 private key, SPKI public key. */
export function generateSigningKeyPair(alg: AsymmetricJwtAlgorithm): {
  privateKey: string;
  publicKey: string;
} {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
