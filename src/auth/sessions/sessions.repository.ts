import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service';
import type { Db } from '../../database/transaction';
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

  async create(
    session: { userId: string; expiresAt: Date; userAgent: string | null; ip: string | null },
    firstTokenHash: TokenHash,
    db: Db = this.prisma,
  ): Promise<SessionRecord> {
    return db.session.create({
      data: {
        ...session,
        refreshTokens: { create: { tokenHash: firstTokenHash, generation: 0 } },
      },
      select: SESSION_COLUMNS,
    });
  }

  /**
   * Spends a live token: one conditional UPDATE … RETURNING, so of two racing requests exactly one
   * gets the row; the other waits for the winner's transaction and then finds it spent.
   */
  async claimToken(
    tokenHash: TokenHash,
    now: Date,
    db: Db,
  ): Promise<{ sessionId: string; generation: number } | undefined> {
    const [claimed] = await db.refreshToken.updateManyAndReturn({
      where: { tokenHash, spentAt: null },
      data: { spentAt: now },
      select: { sessionId: true, generation: true },
    });
    return claimed;
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

  findRefreshable(sessionId: string, db: Db): Promise<RefreshableSession | null> {
    return db.session.findUnique({ where: { id: sessionId }, select: REFRESHABLE_COLUMNS });
  }

  async addToken(
    sessionId: string,
    generation: number,
    tokenHash: TokenHash,
    db: Db,
  ): Promise<void> {
    await db.refreshToken.create({ data: { sessionId, generation, tokenHash } });
  }

  async touch(sessionId: string, now: Date, db: Db): Promise<void> {
    await db.session.update({
      where: { id: sessionId },
      data: { lastUsedAt: now },
      select: { id: true },
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

  /** Removes sessions (and, by cascade, their tokens) that ended before `before`. */
  async deleteEnded(before: Date): Promise<number> {
    const { count } = await this.prisma.session.deleteMany({
      where: { OR: [{ expiresAt: { lt: before } }, { revokedAt: { lt: before } }] },
    });
    return count;
  }
}
