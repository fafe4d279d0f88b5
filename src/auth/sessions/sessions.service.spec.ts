import type { AppConfig } from '../../config/app-config';
import { SessionsService } from './sessions.service';

/**
 * Rotation when the session vanishes under it: an administrator deleting the user while the
 * token is looked up. Prisma reads a token's session, and the session's user, with queries of
 * their own, so a deletion between them leaves nulls the schema says cannot be. The repository
 * is a stub that returns what such a race returns; the real statements are in the e2e suite.
 */
describe('SessionsService.rotate when the session is deleted meanwhile', () => {
  const spentAt = new Date();
  const liveSession = {
    id: '0190f2a0-0000-7000-8000-000000000001',
    userId: '0190f2a0-0000-7000-8000-000000000002',
    expiresAt: new Date(Date.now() + 3_600_000),
    revokedAt: null,
    user: { isActive: true, roles: [] },
  };

  function service(repository: {
    findToken: () => unknown;
    findTokenByGeneration?: () => unknown;
    revoke?: () => number;
  }) {
    const sessions = { claimAndRotate: async () => undefined, ...repository };
    const codec = {
      isWellFormed: () => true,
      hash: () => Uint8Array.from([1, 2, 3]),
      successorOf: () => 'rt_successor',
    };
    const prisma = { $transaction: (work: (tx: unknown) => unknown) => work({}) };
    const invalidations = { publish: async () => undefined };
    const config = { refreshTokens: { ttlSeconds: 3600, reuseGraceSeconds: 10 } };
    return new SessionsService(
      sessions as never,
      codec as never,
      prisma as never,
      invalidations as never,
      {} as never,
      config as AppConfig,
    );
  }

  it('answers invalid, not a TypeError, when the token came back without its session', async () => {
    const rotation = await service({
      findToken: async () => ({ generation: 0, spentAt, session: null }),
    }).rotate('rt_presented');
    expect(rotation).toEqual({ outcome: 'invalid' });
  });

  it('answers invalid when the session came back without its user', async () => {
    const rotation = await service({
      findToken: async () => ({ generation: 0, spentAt, session: { ...liveSession, user: null } }),
    }).rotate('rt_presented');
    expect(rotation).toEqual({ outcome: 'invalid' });
  });

  /** A replay after the grace window (no live successor), whose revocation touches `revoked` rows. */
  const replayAfterWindow = (revoked: number) =>
    service({
      findToken: async () => ({ generation: 0, spentAt, session: liveSession }),
      findTokenByGeneration: async () => null,
      revoke: () => revoked,
    }).rotate('rt_presented');

  it('answers invalid, not theft, when the chain vanished before the revocation', async () => {
    expect(await replayAfterWindow(0)).toEqual({ outcome: 'invalid' });
  });

  it('still calls a replay after the window theft while the session exists', async () => {
    expect(await replayAfterWindow(1)).toEqual({
      outcome: 'reused',
      sessionId: liveSession.id,
      userId: liveSession.userId,
    });
  });
});
