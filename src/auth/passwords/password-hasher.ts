import { randomBytes } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { argon2id, hash, needsRehash, verify, type HashOptions } from 'argon2';
import { normalizePassword } from '../../common/credentials';
import { ApiException } from '../../common/errors/api-exception';
import { AppConfig } from '../../config/app-config';
import { WorkLimiter, WorkQueueFullError } from '../../common/work-limiter';

/** How long a client refused for lack of hashing capacity should wait. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * argon2id with the configured cost (OWASP's 19 MiB, t=2, p=1 by default). Passwords are NFKC
 * normalised before hashing and verifying, so equivalent Unicode spellings match. All hashing goes
 * through one WorkLimiter: a burst of logins queues (boundedly) instead of starving the process.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly options: HashOptions;
  private readonly limiter = new WorkLimiter();
  private dummyHash: Promise<string> | undefined;

  constructor(config: AppConfig) {
    this.options = {
      type: argon2id,
      memoryCost: config.argon2.memoryKib,
      timeCost: config.argon2.timeCost,
      parallelism: config.argon2.parallelism,
    };
  }

  /** Made at start, so the first unknown-email login costs what the others do. */
  onModuleInit(): void {
    void this.dummy();
  }

  hash(password: string): Promise<string> {
    return this.limited(() => hash(normalizePassword(password), this.options));
  }

  /** False for a wrong password and for a hash argon2 cannot read. */
  verify(digest: string, password: string): Promise<boolean> {
    return this.limited(async () => {
      try {
        return await verify(digest, normalizePassword(password));
      } catch {
        return false;
      }
    });
  }

  /**
   * Verifies against a hash made with the current parameters from a random password, and always
   * fails: for an unknown email, so that it costs what a wrong password costs (no timing oracle).
   */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.dummy(), password);
    return false;
  }

  /** True when the hash was made with other parameters; re-hash it at the next login. */
  needsRehash(digest: string): boolean {
    try {
      return needsRehash(digest, this.options);
    } catch {
      return true;
    }
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url'));
    return this.dummyHash;
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.limiter.run(task);
    } catch (error) {
      if (!(error instanceof WorkQueueFullError)) throw error;
      throw new ApiException('service_unavailable', {
        detail: 'Too many password checks in progress; try again shortly',
        retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
      });
    }
  }
}
