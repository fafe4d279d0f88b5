import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { AppConfig } from '../../config/app-config';
import { CacheInvalidationBus } from '../../database/cache-invalidation-bus';
import { PrismaService } from '../../database/prisma.service';
import { AuditLog } from '../../audit/audit-log.service';
import type { ClientInfo } from '../../common/client-info';
import type { Actor } from '../../common/decorators/actor.decorator';
import { ApiException } from '../../common/errors/api-exception';
import type { Db } from '../../database/transaction';
import { RefreshTokenCodec } from '../tokens/refresh-token-codec';
import {
  SessionsRepository,
  type RefreshableSession,
  type SessionRecord,
} from './sessions.repository';

export interface StartedSession {
  session: SessionRecord;
  refreshToken: string;
}

export type Rotation =
  | { outcome: 'rotated'; session: RefreshableSession; refreshToken: string }
  | { outcome: 'invalid' }
  | { outcome: 'reused'; sessionId: string; userId: string };

export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'revoked_by_user'
  | 'refresh_token_reused'
  | 'password_changed'
  | 'password_reset'
  | 'user_deactivated'
  | 'admin';

/** Sessions that ended this long ago are deleted with their refresh tokens. */
const RETENTION_AFTER_END_MS = 24 * 3600 * 1000;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/**
 * Sessions: one per login, holding the chain of refresh tokens. Owns rotation (with its grace
 * window and theft detection) and revocation, which it announces to every instance's cache.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  private readonly ttlMs: number;
  private readonly graceMs: number;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly codec: RefreshTokenCodec,
    private readonly prisma: PrismaService,
    private readonly invalidations: CacheInvalidationBus,
    private readonly audit: AuditLog,
    config: AppConfig,
  ) {
    this.ttlMs = config.refreshTokens.ttlSeconds * 1000;
    this.graceMs = config.refreshTokens.reuseGraceSeconds * 1000;
  }

  /**
   * A login's session, provided the user still has the password hash the login verified, and is
   * active (see SessionsRepository.create); undefined when that changed meanwhile.
   */
  async start(
    userId: string,
    verifiedPasswordHash: string,
    client: ClientInfo,
    db: Db = this.prisma,
  ): Promise<StartedSession | undefined> {
    const refreshToken = this.codec.issue();
    const session = await this.sessions.create(
      { userId, expiresAt: new Date(Date.now() + this.ttlMs), ...client },
      verifiedPasswordHash,
      this.codec.hash(refreshToken),
      db,
    );
    return session && { session, refreshToken };
  }

  /**
   * Exchanges a refresh token for its successor, in one transaction:
   * - a live token is spent and its successor stored (never both without the other);
   * - the token spent last, presented again within the grace window (two tabs, a lost
   *   response), yields the same successor, so the session never has two live branches;
   * - a spent token after the window, or any older one, is theft: the session is revoked;
   * - anything else unusable is `invalid` and changes nothing.
   * The successor expires with the session: rotation never extends it.
   */
  async rotate(refreshToken: string): Promise<Rotation> {
    if (!this.codec.isWellFormed(refreshToken)) return { outcome: 'invalid' };
    const tokenHash = this.codec.hash(refreshToken);
    const successor = this.codec.successorOf(refreshToken);
    const now = new Date();

    const rotated = await this.sessions.claimAndRotate(tokenHash, this.codec.hash(successor), now);
    if (rotated) {
      const { id, userId, expiresAt, roles } = rotated;
      if (!id || !userId || !expiresAt || !roles) return { outcome: 'invalid' };
      const session = { id, userId, expiresAt, revokedAt: null, user: { isActive: true, roles } };
      return { outcome: 'rotated', session, refreshToken: successor };
    }

    // Not live: unknown, or spent already. Spent just now (within the grace window, and its
    // successor still live) is a retry; anything else is theft.
    return this.prisma.$transaction(async (tx): Promise<Rotation> => {
      const spent = await this.sessions.findToken(tokenHash, tx);
      if (!spent?.spentAt || !this.usable(spent.session, now)) return { outcome: 'invalid' };
      const next = await this.sessions.findTokenByGeneration(
        spent.session.id,
        spent.generation + 1,
        tx,
      );
      const justSpent = next !== null && next.spentAt === null;
      if (justSpent && now.getTime() - spent.spentAt.getTime() <= this.graceMs) {
        // Derived again, not stored: it matches unless the signing key changed meanwhile.
        if (!Buffer.from(next.tokenHash).equals(this.codec.hash(successor))) {
          return { outcome: 'invalid' };
        }
        return { outcome: 'rotated', session: spent.session, refreshToken: successor };
      }

      const { id: sessionId, userId } = spent.session;
      // Nothing revoked: the session was deleted (with its user) since it was read, so its chain
      // is gone and there is nothing to defend.
      if (!(await this.revokeWithin(tx, { id: sessionId }, 'refresh_token_reused', now))) {
        return { outcome: 'invalid' };
      }
      return { outcome: 'reused', sessionId, userId };
    });
  }

  /** The session a refresh token belongs to, if it is a token of ours (for logout). */
  async sessionOfToken(refreshToken: string): Promise<{ id: string; userId: string } | undefined> {
    if (!this.codec.isWellFormed(refreshToken)) return undefined;
    const token = await this.sessions.findToken(this.codec.hash(refreshToken));
    return token ? { id: token.session.id, userId: token.session.userId } : undefined;
  }

  async revoke(sessionId: string, reason: RevocationReason, db?: Db): Promise<boolean> {
    return this.inTransaction(db, (tx) =>
      this.revokeWithin(tx, { id: sessionId }, reason, new Date()),
    );
  }

  /** Revokes one of the caller's sessions; anyone else's, or an unknown one, is 404. */
  async revokeOwn(actor: Actor, sessionId: string): Promise<void> {
    const revoked = await this.inTransaction(undefined, (tx) =>
      this.revokeWithin(tx, { id: sessionId, userId: actor.userId }, 'revoked_by_user', new Date()),
    );
    if (!revoked) throw new ApiException('not_found', { detail: 'No such session' });
    this.audit.record({
      type: 'session_revoked',
      userId: actor.userId,
      sessionId,
      client: actor.client,
      detail: { bySessionId: actor.sessionId ?? null },
    });
  }

  async revokeAllForUser(
    userId: string,
    reason: RevocationReason,
    options: { exceptSessionId?: string } = {},
    db?: Db,
  ): Promise<number> {
    return this.inTransaction(db, async (tx) => {
      // The user's row first, as a password change, a reset, a deactivation and a deletion take
      // it: so this waits for any of them (and its session locks) rather than crossing them.
      await this.sessions.lockUserRow(userId, tx);
      const count = await this.sessions.revoke(
        { userId, notId: options.exceptSessionId },
        reason,
        new Date(),
        tx,
      );
      // One message covers every session of the user: caches drop them all.
      await this.invalidations.publish({ kind: 'user', id: userId }, tx);
      return count;
    });
  }

  /**
   * For a write made on behalf of a session (a profile or password change, a new API key, an
   * administrator's change), in its transaction, after the write has locked the user's row:
   * 401 invalid_token when the session has ended since the guard let the request through.
   * Without it, whoever held a session could commit writes after the account's password reset
   * had revoked it (a new email or password of theirs, a new API key), undoing the recovery. The
   * session stays locked (FOR SHARE) until the write commits, so a revocation in flight is
   * waited for and one that comes later waits for the write. API keys (no session) are not
   * accepted on any route that writes.
   */
  async assertLive(actor: Actor, tx: Db): Promise<void> {
    if (actor.sessionId === undefined) return;
    if (!(await this.sessions.lockIfLive(actor.sessionId, actor.userId, new Date(), tx))) {
      throw new ApiException('invalid_token', {
        detail: 'The session ended while the request was being handled',
      });
    }
  }

  /** Before a deletion of the user, in its transaction: see SessionsRepository.lockLiveTokensOfUser. */
  lockBeforeDeletingUser(userId: string, tx: Db): Promise<void> {
    return this.sessions.lockLiveTokensOfUser(userId, new Date(), tx);
  }

  listActive(userId: string): Promise<SessionRecord[]> {
    return this.sessions.listActive(userId, new Date());
  }

  @Interval(CLEANUP_INTERVAL_MS)
  async deleteEnded(): Promise<void> {
    try {
      const count = await this.sessions.deleteEnded(new Date(Date.now() - RETENTION_AFTER_END_MS));
      if (count) this.logger.log(`Deleted ${count} ended sessions`);
    } catch (error) {
      this.logger.warn(`Session cleanup failed: ${(error as Error).message}`);
    }
  }

  /**
   * Whether a token's session can still be refreshed. The session and its user may be missing
   * although the schema says they cannot: Prisma reads a relation with a query of its own, and a
   * user deleted between the two leaves the token's session (or the session's user) null.
   */
  private usable(session: RefreshableSession | null, now: Date): session is RefreshableSession {
    const user = session?.user as RefreshableSession['user'] | null | undefined;
    return !!session && session.revokedAt === null && session.expiresAt > now && !!user?.isActive;
  }

  private async revokeWithin(
    tx: Db,
    where: { id: string; userId?: string },
    reason: RevocationReason,
    now: Date,
  ): Promise<boolean> {
    const count = await this.sessions.revoke(where, reason, now, tx);
    if (count) await this.invalidations.publish({ kind: 'session', id: where.id }, tx);
    return count > 0;
  }

  /** Runs in the caller's transaction, or in a new one. */
  private inTransaction<T>(db: Db | undefined, work: (tx: Db) => Promise<T>): Promise<T> {
    if (db && db !== this.prisma) return work(db);
    return this.prisma.$transaction((tx) => work(tx));
  }
}
