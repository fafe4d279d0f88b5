import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import type { Db } from '../database/transaction';
import type { Prisma } from '../generated/prisma/client';
import { USER_COLUMNS, type NewUser, type UserRecord } from './user.record';

export type UserChanges = Partial<Omit<NewUser, 'email'>> & { email?: string };

/** A new password, hashed: set together with the time it changed. */
export interface NewPassword {
  passwordHash: string;
  passwordChangedAt: Date;
}

/**
 * Users in PostgreSQL. Every read selects USER_COLUMNS explicitly; the password hash is read only
 * by `findCredentials`, for UsersService's password checks, and never leaves UsersModule.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string, db: Db = this.prisma): Promise<UserRecord | null> {
    return db.user.findUnique({ where: { id }, select: USER_COLUMNS });
  }

  findByEmail(email: string, db: Db = this.prisma): Promise<UserRecord | null> {
    return db.user.findUnique({ where: { email }, select: USER_COLUMNS });
  }

  findCredentials(
    where: { email: string } | { id: string },
    db: Db = this.prisma,
  ): Promise<(UserRecord & { passwordHash: string }) | null> {
    return db.user.findUnique({ where, select: { ...USER_COLUMNS, passwordHash: true } });
  }

  /** Replaces the password hash if it is still `current`; false when it changed meanwhile. */
  async replacePasswordHash(id: string, current: string, replacement: string): Promise<boolean> {
    const { count } = await this.prisma.user.updateMany({
      where: { id, passwordHash: current },
      data: { passwordHash: replacement },
    });
    return count === 1;
  }

  count(db: Db = this.prisma): Promise<number> {
    return db.user.count();
  }

  create(user: NewUser, db: Db = this.prisma): Promise<UserRecord> {
    return db.user.create({ data: user, select: USER_COLUMNS });
  }

  /**
   * Inserts unless the email is taken (ON CONFLICT DO NOTHING); null when it was. Of two
   * concurrent callers with one email, exactly one gets the row.
   */
  async createIfEmailFree(user: NewUser, db: Db = this.prisma): Promise<UserRecord | null> {
    const [created] = await db.user.createManyAndReturn({
      data: [user],
      skipDuplicates: true,
      select: USER_COLUMNS,
    });
    return created ?? null;
  }

  /** Throws P2025 (RecordNotFound) when there is no such user, P2002 when the email is taken. */
  update(id: string, changes: UserChanges, db: Db = this.prisma): Promise<UserRecord> {
    return db.user.update({ where: { id }, data: changes, select: USER_COLUMNS });
  }

  /** Deletes every API key of the user; returns their ids. */
  async deleteApiKeys(userId: string, db: Db = this.prisma): Promise<string[]> {
    const rows = await db.$queryRaw<{ id: string }[]>`
      DELETE FROM api_keys WHERE user_id = ${userId}::uuid RETURNING id::text`;
    return rows.map((row) => row.id);
  }

  async deletePasswordResetToken(userId: string, db: Db = this.prisma): Promise<void> {
    await db.passwordResetToken.deleteMany({ where: { userId } });
  }

  /**
   * Locks the actor's and the target's rows (FOR UPDATE, in id order, so that two callers locking
   * the same pair cannot deadlock); whether the actor is, as of now, an active superuser.
   */
  async lockActorAndTarget(actorId: string, targetId: string, db: Db): Promise<boolean> {
    const rows = await db.$queryRaw<{ id: string; superuser: boolean }[]>`
      SELECT id::text, is_active AND is_superuser AS superuser FROM users
       WHERE id IN (${actorId}::uuid, ${targetId}::uuid)
       ORDER BY id
         FOR UPDATE`;
    return rows.some((row) => row.id === actorId && row.superuser);
  }

  /** Throws P2025 (RecordNotFound) when there is no such user. */
  delete(id: string, db: Db = this.prisma): Promise<UserRecord> {
    return db.user.delete({ where: { id }, select: USER_COLUMNS });
  }

  /** A page of users, newest first, optionally matching `search` in email or full name. */
  async list(
    { offset, limit, search }: { offset: number; limit: number; search?: string },
    db: Db = this.prisma,
  ): Promise<{ data: UserRecord[]; count: number }> {
    // Prisma's `contains` is a LIKE whose pattern it does not escape: a search for "_" or "%"
    // would match everyone. Backslash is PostgreSQL's LIKE escape.
    const literal = search?.replace(/[\\%_]/g, '\\$&');
    const where: Prisma.UserWhereInput = literal
      ? {
          OR: [
            { email: { contains: literal, mode: 'insensitive' } },
            { fullName: { contains: literal, mode: 'insensitive' } },
          ],
        }
      : {};
    const [data, count] = await Promise.all([
      db.user.findMany({
        where,
        select: USER_COLUMNS,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        skip: offset,
        take: limit,
      }),
      db.user.count({ where }),
    ]);
    return { data, count };
  }
}
