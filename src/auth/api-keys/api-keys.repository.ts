import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service';
import type { Db } from '../../database/transaction';
import type { Prisma } from '../../generated/prisma/client';

export const API_KEY_COLUMNS = {
  id: true,
  name: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
} as const satisfies Prisma.ApiKeySelect;

export type ApiKeyRecord = Prisma.ApiKeyGetPayload<{ select: typeof API_KEY_COLUMNS }>;

/** What checking a presented key needs. */
export interface ApiKeyState {
  id: string;
  userId: string;
  secretHash: Uint8Array;
  scopes: string[];
  expiresAt: Date | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Creates the key unless its owner already has `limit` keys, or no longer exists, in the
   * caller's transaction. The owner's row is locked for the count and the insert, so concurrent
   * creations cannot pass the limit together (FOR NO KEY UPDATE: logins, which only reference
   * the row, are not held up).
   */
  async createWithinLimit(
    key: {
      id: string;
      userId: string;
      name: string;
      secretHash: Uint8Array<ArrayBuffer>;
      scopes: string[];
      expiresAt: Date | null;
    },
    limit: number,
    tx: Db,
  ): Promise<ApiKeyRecord | 'limit_reached' | 'owner_gone'> {
    const owner = await tx.$queryRaw<unknown[]>`
      SELECT 1 FROM users WHERE id = ${key.userId}::uuid FOR NO KEY UPDATE`;
    if (!owner.length) return 'owner_gone';
    if ((await tx.apiKey.count({ where: { userId: key.userId } })) >= limit) {
      return 'limit_reached';
    }
    return tx.apiKey.create({ data: key, select: API_KEY_COLUMNS });
  }

  listForUser(userId: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({
      where: { userId },
      select: API_KEY_COLUMNS,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
  }

  findState(id: string): Promise<ApiKeyState | null> {
    return this.prisma.apiKey.findUnique({
      where: { id },
      select: { id: true, userId: true, secretHash: true, scopes: true, expiresAt: true },
    });
  }

  /** Deletes the user's key; null when it is not theirs or does not exist. */
  async deleteOwn(userId: string, id: string, db: Db): Promise<ApiKeyRecord | null> {
    const [deleted] = await db.$queryRaw<ApiKeyRecord[]>`
      DELETE FROM api_keys WHERE id = ${id}::uuid AND user_id = ${userId}::uuid
      RETURNING id::text, name, scopes, created_at AS "createdAt",
                last_used_at AS "lastUsedAt", expires_at AS "expiresAt"`;
    return deleted ?? null;
  }

  /** Records a use (lastUsedAt; never moved back by a slower instance's older write). */
  async touch(id: string, now: Date): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE api_keys SET last_used_at = GREATEST(last_used_at, ${now}) WHERE id = ${id}::uuid`;
  }
}
