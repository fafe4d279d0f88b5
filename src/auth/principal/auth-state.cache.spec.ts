import type { CacheInvalidationBus, Invalidation } from '../../database/cache-invalidation-bus';
import type { UserRecord } from '../../users/user.record';
import type { UsersService } from '../../users/users.service';
import type { SessionState, SessionsRepository } from '../sessions/sessions.repository';
import type { ApiKeyState, ApiKeysRepository } from '../api-keys/api-keys.repository';
import { AuthStateCache } from './auth-state.cache';

function setUp() {
  let listener: (invalidation: Invalidation) => void = () => undefined;
  let reset: () => void = () => undefined;
  const bus = {
    isListening: true,
    subscribe: (l: typeof listener) => ((listener = l), () => undefined),
    onReset: (r: typeof reset) => ((reset = r), () => undefined),
  };
  const session: SessionState = {
    id: 's1',
    userId: 'u1',
    expiresAt: new Date(Date.now() + 60_000),
    revoked: false,
  };
  const sessions = {
    findState: jest.fn(async (): Promise<SessionState | null> => ({ ...session })),
  };
  const users = { findById: jest.fn(async () => ({ id: 'u1', isActive: true }) as UserRecord) };
  const apiKeys = {
    findState: jest.fn(async (): Promise<ApiKeyState | null> => ({
      id: 'k1',
      userId: 'u1',
      secretHash: new Uint8Array(32),
      scopes: ['users:read'],
      expiresAt: null,
    })),
  };
  const cache = new AuthStateCache(
    bus as unknown as CacheInvalidationBus,
    sessions as unknown as SessionsRepository,
    users as unknown as UsersService,
    apiKeys as unknown as ApiKeysRepository,
  );
  cache.onModuleInit();
  return {
    cache,
    bus,
    sessions,
    users,
    apiKeys,
    invalidate: (i: Invalidation) => listener(i),
    reset: () => reset(),
  };
}

describe('AuthStateCache', () => {
  it('reads each session and user once while listening', async () => {
    const { cache, sessions, users } = setUp();
    await cache.session('s1');
    await cache.session('s1');
    await cache.user('u1');
    await cache.user('u1');
    expect(sessions.findState).toHaveBeenCalledTimes(1);
    expect(users.findById).toHaveBeenCalledTimes(1);
  });

  it('reads again after an invalidation; a user invalidation drops that user’s sessions too', async () => {
    const { cache, sessions, users, invalidate } = setUp();
    await cache.session('s1');
    await cache.user('u1');
    invalidate({ kind: 'session', id: 's1' });
    await cache.session('s1');
    expect(sessions.findState).toHaveBeenCalledTimes(2);
    invalidate({ kind: 'user', id: 'u1' });
    await cache.session('s1');
    await cache.user('u1');
    expect(sessions.findState).toHaveBeenCalledTimes(3);
    expect(users.findById).toHaveBeenCalledTimes(2);
  });

  it('does not cache a read that an invalidation overtook (the read may predate the change)', async () => {
    const { cache, sessions, invalidate } = setUp();
    let release!: () => void;
    sessions.findState.mockImplementationOnce(
      () =>
        new Promise(
          (resolve) =>
            (release = () =>
              resolve({ id: 's1', userId: 'u1', expiresAt: new Date(), revoked: false })),
        ),
    );
    const pending = cache.session('s1');
    invalidate({ kind: 'session', id: 's1' });
    release();
    await pending;
    await cache.session('s1');
    expect(sessions.findState).toHaveBeenCalledTimes(2);
  });

  it('serves nothing from memory while not listening, and forgets everything on a reset', async () => {
    const { cache, bus, sessions, reset } = setUp();
    await cache.session('s1');
    reset();
    await cache.session('s1');
    expect(sessions.findState).toHaveBeenCalledTimes(2);
    bus.isListening = false;
    await cache.session('s1');
    await cache.session('s1');
    expect(sessions.findState).toHaveBeenCalledTimes(4);
  });

  it('remembers that a session does not exist', async () => {
    const { cache, sessions } = setUp();
    sessions.findState.mockResolvedValue(null);
    await expect(cache.session('gone')).resolves.toBeNull();
    await expect(cache.session('gone')).resolves.toBeNull();
    expect(sessions.findState).toHaveBeenCalledTimes(1);
  });

  it('caches API keys until an api-key invalidation, and forgets them on a reset', async () => {
    const { cache, apiKeys, invalidate, reset } = setUp();
    await cache.apiKey('k1');
    await cache.apiKey('k1');
    expect(apiKeys.findState).toHaveBeenCalledTimes(1);
    invalidate({ kind: 'session', id: 'k1' });
    await cache.apiKey('k1');
    expect(apiKeys.findState).toHaveBeenCalledTimes(1);
    invalidate({ kind: 'api-key', id: 'k1' });
    await cache.apiKey('k1');
    expect(apiKeys.findState).toHaveBeenCalledTimes(2);
    reset();
    await cache.apiKey('k1');
    expect(apiKeys.findState).toHaveBeenCalledTimes(3);
  });
});
