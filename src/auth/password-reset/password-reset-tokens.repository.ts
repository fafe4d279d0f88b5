import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service';
import type { Db } from '../../database/transaction';
import type { TokenHash } from '../tokens/refresh-token-codec';

/**
 * Password-reset tokens (their SHA-256 only). A token is live while unexpired and its user active;
 * one per user, so a newer request replaces the older token, and UsersService deletes it when the
 * password, the email or the active flag changes.
 */
@Injectable()
export class PasswordResetTokensRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Stores the user's token (replacing an older one), provided the user is still active and still
   * has `email`, the address the link is about to be mailed to. Read and write are one statement
   * that locks the user's row (FOR SHARE): a change of email, password or active flag in flight
   * is waited for, and one that ended the account's claim to this mail means no token (false).
   * Otherwise the token was stored after any such change, whose deletion of tokens it outlives
   * only as a request made just after it would.
   */
  async issue(
    userId: string,
    email: string,
    tokenHash: TokenHash,
    createdAt: Date,
    expiresAt: Date,
  ): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<unknown[]>`
      INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at)
      SELECT u.id, ${tokenHash}, ${createdAt}, ${expiresAt}
        FROM users u
       WHERE u.id = ${userId}::uuid AND u.email = ${email} AND u.is_active
         FOR SHARE
      ON CONFLICT (user_id) DO UPDATE
         SET token_hash = EXCLUDED.token_hash,
             created_at = EXCLUDED.created_at,
             expires_at = EXCLUDED.expires_at
      RETURNING 1`;
    return rows.length === 1;
  }

  /** Whether a live token has this hash (a cheap check before any password is hashed). */
  async isLive(tokenHash: TokenHash, now: Date): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<{ live: boolean }[]>`
      SELECT true AS live
        FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ${tokenHash} AND t.expires_at > ${now} AND u.is_active`;
    return !!row;
  }

  /**
   * Spends a live token: deletes it and returns its user, in one statement, so of two requests
   * racing with one token exactly one gets it. Undefined when it is not live.
   *
   * The user's row is locked before the token's, the order issue() and every change of a user
   * (update the user, then delete the token) take them in: the caller goes on to update the user,
   * and the other order would deadlock with a token being issued for that user.
   */
  async claim(tokenHash: TokenHash, now: Date, db: Db): Promise<string | undefined> {
    const [row] = await db.$queryRaw<{ userId: string }[]>`
      WITH owner AS (
        SELECT u.id FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ${tokenHash} AND t.expires_at > ${now} AND u.is_active
           FOR NO KEY UPDATE OF u
      )
      DELETE FROM password_reset_tokens t USING owner
       WHERE t.user_id = owner.id AND t.token_hash = ${tokenHash}
      RETURNING t.user_id::text AS "userId"`;
    return row?.userId;
  }
}
