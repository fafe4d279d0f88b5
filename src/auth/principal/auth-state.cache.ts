import { Injectable, type OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { CacheInvalidationBus, type Invalidation } from '../../database/cache-invalidation-bus';
import type { UserRecord } from '../../users/user.record';
import { UsersService } from '../../users/users.service';
import { ApiKeysRepository, type ApiKeyState } from '../api-keys/api-keys.repository';
import { SessionsRepository, type SessionState } from '../sessions/sessions.repository';

const MAX_ENTRIES = 100_000;

/**
 * Session, user and API-key state for the per-request credential check, kept in memory so the hot path needs no
 * database round trip. Every change to a session or user is announced on the CacheInvalidationBus
 * and dropped here on every instance within milliseconds. While the bus is not listening (it may
 * be missing announcements) nothing is served from or kept in the cache.
 */
@Injectable()
export class AuthStateCache implements OnModuleInit {
  private readonly sessions = new LRUCache<string, SessionState | 'none'>({
    max: MAX_ENTRIES,
    dispose: (state, id) => {
      if (state !== 'none') this.sessionsByUser.get(state.userId)?.delete(id);
    },
  });
  private readonly users = new LRUCache<string, UserRecord | 'none'>({ max: MAX_ENTRIES });
  private readonly apiKeys = new LRUCache<string, ApiKeyState | 'none'>({ max: MAX_ENTRIES });
  private readonly sessionsByUser = new Map<string, Set<string>>();
  /** Bumped by every invalidation; a read that raced one is not cached. */
  private generation = 0;

  constructor(
    private readonly bus: CacheInvalidationBus,
    private readonly sessionsRepository: SessionsRepository,
    private readonly usersService: UsersService,
    private readonly apiKeysRepository: ApiKeysRepository,
  ) {}

  onModuleInit(): void {
    this.bus.subscribe((invalidation) => this.invalidate(invalidation));
    this.bus.onReset(() => this.clear());
  }

  /** The cached state, synchronously: undefined when not cached (or not to be trusted now). */
  cachedSession(id: string): SessionState | null | undefined {
    const state = this.bus.isListening ? this.sessions.get(id) : undefined;
    return state === 'none' ? null : state;
  }

  cachedUser(id: string): UserRecord | null | undefined {
    const user = this.bus.isListening ? this.users.get(id) : undefined;
    return user === 'none' ? null : user;
  }

  async session(id: string): Promise<SessionState | null> {
    const state = await this.read(
      this.sessions,
      id,
      async () => (await this.sessionsRepository.findState(id)) ?? 'none',
    );
    if (state === 'none') return null;
    // Index what is cached, so a user-wide invalidation can find that user's sessions.
    if (this.sessions.has(id)) this.indexSession(state);
    return state;
  }

  async user(id: string): Promise<UserRecord | null> {
    const user = await this.read(
      this.users,
      id,
      async () => (await this.usersService.findById(id)) ?? 'none',
    );
    return user === 'none' ? null : user;
  }

  async apiKey(id: string): Promise<ApiKeyState | null> {
    const state = await this.read(
      this.apiKeys,
      id,
      async () => (await this.apiKeysRepository.findState(id)) ?? 'none',
    );
    return state === 'none' ? null : state;
  }

  invalidate(invalidation: Invalidation): void {
    this.generation++;
    if (invalidation.kind === 'session') this.sessions.delete(invalidation.id);
    if (invalidation.kind === 'api-key') this.apiKeys.delete(invalidation.id);
    if (invalidation.kind === 'user') {
      this.users.delete(invalidation.id);
      for (const sessionId of this.sessionsByUser.get(invalidation.id) ?? []) {
        this.sessions.delete(sessionId);
      }
      this.sessionsByUser.delete(invalidation.id);
    }
  }

  clear(): void {
    this.generation++;
    this.sessions.clear();
    this.users.clear();
    this.apiKeys.clear();
    this.sessionsByUser.clear();
  }

  private async read<T extends object | 'none'>(
    cache: LRUCache<string, T>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    if (this.bus.isListening) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const generation = this.generation;
    const value = await load();
    if (this.bus.isListening && generation === this.generation) cache.set(key, value);
    return value;
  }

  private indexSession(state: SessionState): void {
    let ids = this.sessionsByUser.get(state.userId);
    if (!ids) this.sessionsByUser.set(state.userId, (ids = new Set()));
    ids.add(state.id);
  }
}
