import { Injectable, Logger } from '@nestjs/common';
import { AuditLog } from '../../audit/audit-log.service';
import type { Actor } from '../../common/decorators/actor.decorator';
import { ApiException } from '../../common/errors/api-exception';
import type { Principal } from '../../common/principal';
import { uuidv7 } from '../../common/uuid';
import { CacheInvalidationBus } from '../../database/cache-invalidation-bus';
import { PrismaService } from '../../database/prisma.service';
import { AuthStateCache } from '../principal/auth-state.cache';
import { SessionsService } from '../sessions/sessions.service';
import { apiKeyCodec } from './api-key-codec';
import type { CreateApiKeyRequest } from './api-keys.dto';
import { ApiKeysRepository, type ApiKeyRecord } from './api-keys.repository';

const MAX_KEYS_PER_USER = 100;
/** lastUsedAt is written at most this often per key and instance (not on every request). */
const TOUCH_INTERVAL_MS = 60_000;

/** A presented key that checks out: who it acts for, and what it may do. */
export interface ApiKeyPrincipal {
  principal: Principal;
  scopes: readonly string[];
}

/**
 * API keys for scripts and services acting for a user. A key acts as its owner only on routes
 * that accept its scopes (the guard decides); it stops working on every instance within a second
 * when it is revoked or its owner is deactivated or deleted (the same cache invalidation the
 * sessions use).
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly state: AuthStateCache,
    private readonly invalidations: CacheInvalidationBus,
    private readonly prisma: PrismaService,
    private readonly audit: AuditLog,
    private readonly sessions: SessionsService,
  ) {}

  async create(
    actor: Actor,
    request: CreateApiKeyRequest,
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    const id = uuidv7();
    const { key, secretHash } = apiKeyCodec.generate(id);
    const record = await this.prisma.$transaction(async (tx) => {
      const created = await this.keys.createWithinLimit(
        {
          id,
          userId: actor.userId,
          name: request.name,
          secretHash,
          scopes: request.scopes,
          expiresAt: request.expiresAt ?? null,
        },
        MAX_KEYS_PER_USER,
        tx,
      );
      // After the owner's row lock: a key made from a session a password reset has just ended
      // would outlive the account's recovery.
      await this.sessions.assertLive(actor, tx);
      return created;
    });
    if (record === 'limit_reached') {
      throw new ApiException('validation_failed', {
        detail: `A user may have at most ${MAX_KEYS_PER_USER} API keys; revoke one first`,
      });
    }
    // Deleted while this request was on its way: its token no longer stands for anyone.
    if (record === 'owner_gone') throw new ApiException('invalid_token');
    this.audit.record({
      type: 'api_key_created',
      userId: actor.userId,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { keyId: id, name: record.name, scopes: record.scopes },
    });
    return { record, key };
  }

  list(userId: string): Promise<ApiKeyRecord[]> {
    return this.keys.listForUser(userId);
  }

  /** Revokes (deletes) one of the caller's keys; anyone else's, or an unknown one, is 404. */
  async revoke(actor: Actor, id: string): Promise<void> {
    const deleted = await this.prisma.$transaction(async (tx) => {
      const key = await this.keys.deleteOwn(actor.userId, id, tx);
      if (key) await this.invalidations.publish({ kind: 'api-key', id }, tx);
      return key;
    });
    if (!deleted) throw new ApiException('not_found', { detail: 'No such API key' });
    this.audit.record({
      type: 'api_key_revoked',
      userId: actor.userId,
      sessionId: actor.sessionId,
      client: actor.client,
      detail: { keyId: id, name: deleted.name },
    });
  }

  /**
   * The principal a presented key acts as, or null when it is malformed, unknown, revoked,
   * expired, or its owner is gone or deactivated: one answer for all of them.
   */
  async authenticate(presented: string): Promise<ApiKeyPrincipal | null> {
    const parsed = apiKeyCodec.parse(presented);
    if (!parsed) return null;
    const key = await this.state.apiKey(parsed.id);
    if (!key || !apiKeyCodec.matches(parsed.secret, key.secretHash)) return null;
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return null;
    const user = await this.state.user(key.userId);
    if (!user?.isActive) return null;
    this.noteUse(key.id);
    return {
      principal: { user, sessionId: undefined, apiKeyId: key.id, roles: [], isSuperuser: false },
      scopes: key.scopes,
    };
  }

  /** Off the request path: lastUsedAt. */
  private noteUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.touched.get(keyId) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.touched.set(keyId, now);
    if (this.touched.size > 100_000) this.touched.clear();
    this.keys
      .touch(keyId, new Date(now))
      .catch((error: Error) =>
        this.logger.warn(`Could not record the use of an API key: ${error.message}`),
      );
  }
}
