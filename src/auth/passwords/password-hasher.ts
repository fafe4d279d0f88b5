import { Injectable } from '@nestjs/common';
import { argon2id, hash, needsRehash, verify, type HashOptions } from 'argon2';
import { normalizePassword } from '../../common/credentials';
import { AppConfig } from '../../config/app-config';

/**
 * argon2id with the configured cost (OWASP's 19 MiB, t=2, p=1 by default). Passwords are NFKC
 * normalised before hashing and verifying, so equivalent Unicode spellings match.
 */
@Injectable()
export class PasswordHasher {
  private readonly options: HashOptions;

  constructor(config: AppConfig) {
    this.options = {
      type: argon2id,
      memoryCost: config.argon2.memoryKib,
      timeCost: config.argon2.timeCost,
      parallelism: config.argon2.parallelism,
    };
  }

  hash(password: string): Promise<string> {
    return hash(normalizePassword(password), this.options);
  }

  /** False for a wrong password and for a hash argon2 cannot read. */
  async verify(digest: string, password: string): Promise<boolean> {
    try {
      return await verify(digest, normalizePassword(password));
    } catch {
      return false;
    }
  }

  /** True when the hash was made with other parameters; re-hash it at the next login. */
  needsRehash(digest: string): boolean {
    try {
      return needsRehash(digest, this.options);
    } catch {
      return true;
    }
  }
}
