import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service';
import { Prisma } from '../../generated/prisma/client';
import type { Db } from '../../database/transaction';
import { uuidv7 } from '../../common/uuid';
import type { TokenHash } from '../tokens/refresh-token-codec';

/** What an access-token check needs to know about a session. */
export interface SessionState {
  id: string;
  userId: string;
  expiresAt: Date;
  revoked: boolean;
}

export interface SessionRecord {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/** A session with what a refresh needs: whether it (and its user) can still be used. */
export interface RefreshableSession {
  id: string;
  userId: string;
  expiresAt: Date;
  revokedAt: Date | null;
  user: { isActive: boolean; roles: string[] };
}

const SESSION_COLUMNS = {
  id: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  userAgent: true,
  ip: true,
} as const;

const REFRESHABLE_COLUMNS = {
  id: true,
  userId: true,
  expiresAt: true,
  revokedAt: true,
  user: { select: { isActive: true, roles: true } },
} as const;

/** Sessions and their refresh tokens (stored as SHA-256 only) in PostgreSQL. */
@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Inserts a session and its first refresh token in one statement: atomic, and one round trip
   * (Prisma's nested create takes a transaction of several), since every login does it.
   *
   * Only while the user still exists, is active and still has `verifiedPasswordHash`, the hash the
   * login's password was checked against (undefined: no session). The statement locks the user's
   * row (FOR SHARE), so a password change, deactivation or deletion in flight is waited for: one
   * that committed first leaves no session, and one that commits after revokes (or deletes) the
   * session with the user's others. Without this, a login with the old password that overlapped
   * a password reset kept a live session.
   */
  async create(
    session: { userId: string; expiresAt: Date; userAgent: string | null; ip: string | null },
    verifiedPasswordHash: string,
    firstTokenHash: TokenHash,
    db: Db = this.prisma,
  ): Promise<SessionRecord | undefined> {
    const now = new Date();
    const [created] = await db.$queryRaw<SessionRecord[]>`
      WITH owner AS (
        SELECT id FROM users
         WHERE id = ${session.userId}::uuid AND password_hash = ${verifiedPasswordHash}
           AND is_active
           FOR SHARE
      ), session AS (
        INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
        SELECT ${uuidv7(now.getTime())}::uuid, owner.id, ${now}, ${now},
               ${session.expiresAt}, ${session.userAgent}, ${session.ip}
          FROM owner
        RETURNING id, created_at, last_used_at, expires_at, user_agent, ip
      ), first_token AS (
        INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at)
        SELECT ${firstTokenHash}, id, 0, ${now} FROM session
      )
      SELECT id::text, created_at AS "createdAt", last_used_at AS "lastUsedAt",
             expires_at AS "expiresAt", user_agent AS "userAgent", ip
        FROM session`;
    return created;
  }

  /**
   * A refresh's usual case in one statement (atomic, one round trip): spend the token if it is
   * live (the conditional UPDATE … RETURNING means of two racing requests exactly one gets it),
   * and if its session is live and its user active, add the successor and touch the session.
   * - no row: the token was not live (unknown, or already spent: see `findToken`);
   * - a row without `id`: it was spent, but its session or user is no longer usable;
   * - a row with `id`: rotated.
   */
  async claimAndRotate(
    tokenHash: TokenHash,
    successorHash: TokenHash,
    now: Date,
    db: Db = this.prisma,
  ): Promise<
    | { id: string | null; userId: string | null; expiresAt: Date | null; roles: string[] | null }
    | undefined
  > {
    const [row] = await db.$queryRaw<
      { id: string | null; userId: string | null; expiresAt: Date | null; roles: string[] | null }[]
    >`
      WITH claimed AS (
        UPDATE refresh_tokens SET spent_at = ${now}
         WHERE token_hash = ${tokenHash} AND spent_at IS NULL
        RETURNING session_id, generation
      ), live AS (
        -- The session is locked (after its token: nothing locks a token after its session), so
        -- a revocation in flight is waited for and seen: a refresh racing a logout is refused,
        -- rather than answered with a pair for the ended session. Not the user's row: a
        -- deletion locks it first.
        SELECT s.id, s.user_id, s.expires_at, u.roles, c.generation
          FROM claimed c
          JOIN sessions s ON s.id = c.session_id
          JOIN users u ON u.id = s.user_id
         WHERE s.revoked_at IS NULL AND s.expires_at > ${now} AND u.is_active
           FOR NO KEY UPDATE OF s
      ), successor AS (
        INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at)
        SELECT ${successorHash}, id, generation + 1, ${now} FROM live
        RETURNING session_id
      ), touched AS (
        UPDATE sessions SET last_used_at = ${now} WHERE id IN (SELECT session_id FROM successor)
      )
      SELECT l.id::text, l.user_id::text AS "userId", l.expires_at AS "expiresAt", l.roles
        FROM claimed LEFT JOIN live l ON true`;
    return row;
  }

  /**
   * Locks the live refresh tokens of the user's live sessions (FOR UPDATE), in the caller's
   * transaction. A refresh locks its token, then its session; a deletion of the user reaches the
   * sessions first and their tokens through the cascade, the opposite order, so the two could
   * deadlock. Taken before the deletion, these locks make the deletion wait for a refresh that
   * holds its token, and a refresh that comes later wait for the deletion (and then find nothing).
   *
   * Only what a refresh could lock after its token: the live token of a live session (a refresh
   * of an ended session locks no session). Ended sessions' tokens are the hourly cleanup's, which
   * locks them after their session, and locking them here would deadlock with it.
   *
   * A refresh that held a token while this waited has spent it (so it is not locked: it no longer
   * matches) and committed a successor the locking statement could not see. So each round is
   * followed by a plain read, which sees what has committed since, and the rounds go on until
   * every live token it finds is locked: a refresh now needs one of them, and waits.
   */
  async lockLiveTokensOfUser(userId: string, now: Date, db: Db): Promise<void> {
    const liveTokens = Prisma.sql`
      SELECT encode(t.token_hash, 'hex') AS token
        FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
       WHERE s.user_id = ${userId}::uuid AND t.spent_at IS NULL
         AND s.revoked_at IS NULL AND s.expires_at > ${now}`;
    const locked = new Set<string>();
    for (;;) {
      for (const { token } of await db.$queryRaw<{ token: string }[]>`
        ${liveTokens} FOR UPDATE OF t`) {
        locked.add(token);
      }
      const live = await db.$queryRaw<{ token: string }[]>(liveTokens);
      if (live.every(({ token }) => locked.has(token))) return;
    }
  }

  /**
   * Whether the session is the user's and live, locking it (FOR SHARE) until the caller's
   * transaction ends: a revocation in flight is waited for, and one that comes later waits.
   */
  async lockIfLive(id: string, userId: string, now: Date, db: Db): Promise<boolean> {
    const rows = await db.$queryRaw<unknown[]>`
      SELECT 1 FROM sessions
       WHERE id = ${id}::uuid AND user_id = ${userId}::uuid
         AND revoked_at IS NULL AND expires_at > ${now}
         FOR SHARE`;
    return rows.length > 0;
  }

  /** Locks the user's row (FOR SHARE): user-wide revocations take it before any session's. */
  async lockUserRow(userId: string, db: Db): Promise<void> {
    await db.$queryRaw`SELECT 1 FROM users WHERE id = ${userId}::uuid FOR SHARE`;
  }

  findToken(tokenHash: TokenHash, db: Db = this.prisma) {
    return db.refreshToken.findUnique({
      where: { tokenHash },
      select: { generation: true, spentAt: true, session: { select: REFRESHABLE_COLUMNS } },
    });
  }

  findTokenByGeneration(sessionId: string, generation: number, db: Db) {
    return db.refreshToken.findUnique({
      where: { sessionId_generation: { sessionId, generation } },
      select: { tokenHash: true, spentAt: true },
    });
  }

  async findState(id: string): Promise<SessionState | null> {
    const session = await this.prisma.session.findUnique({
      where: { id },
      select: { id: true, userId: true, expiresAt: true, revokedAt: true },
    });
    return session && { ...session, revoked: session.revokedAt !== null };
  }

  /** Revokes matching live sessions; returns how many were live. */
  async revoke(
    where: { id?: string; userId?: string; notId?: string },
    reason: string,
    now: Date,
    db: Db = this.prisma,
  ): Promise<number> {
    const { count } = await db.session.updateMany({
      where: {
        id: where.notId ? { equals: where.id, not: where.notId } : where.id,
        userId: where.userId,
        revokedAt: null,
        // User-wide, only sessions that have not expired: an expired one has ended already, and
        // is the hourly cleanup's to delete.
        ...(where.id === undefined && { expiresAt: { gt: now } }),
      },
      data: { revokedAt: now, revokedReason: reason },
    });
    return count;
  }

  listActive(userId: string, now: Date): Promise<SessionRecord[]> {
    return this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: now } },
      orderBy: { lastUsedAt: 'desc' },
      select: SESSION_COLUMNS,
    });
  }

  /**
   * Removes sessions (and, by cascade, their tokens) that ended before `before`, skipping any
   * that another transaction holds: the next run takes them. Waiting could deadlock: a user's
   * deletion locks the same sessions through its cascade, in an order of its own (the user_id
   * index's), while this statement's scan follows the table's.
   */
  deleteEnded(before: Date): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM sessions WHERE id IN (
        SELECT id FROM sessions WHERE expires_at < ${before} OR revoked_at < ${before}
           FOR UPDATE SKIP LOCKED)`;
  }
}
