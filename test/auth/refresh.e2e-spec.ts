import {
  bearer,
  decodeJwt,
  get,
  login,
  newAccount,
  post,
  refresh,
  superuserTokens,
  within,
  type TokenPair,
} from '../support/auth';
import { SessionsRepository } from '../../src/auth/sessions/sessions.repository';
import { RefreshTokenCodec } from '../../src/auth/tokens/refresh-token-codec';
import { openTransaction, untilWaitingOnLocks, waitingOnLocks } from '../support/locks';
import { createTestApp, type TestApp } from '../support/test-app';

describe('POST /auth/refresh: rotation, grace and theft detection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const sessionOf = async (tokens: TokenPair) =>
    (await get(t, '/auth/sessions', tokens.accessToken)).json()[0] as { id: string };
  /** Pretends the token was spent `seconds` ago. */
  const spentAgo = (sessionId: string, seconds: number) =>
    t.db.query(
      `UPDATE refresh_tokens SET spent_at = now() - make_interval(secs => $2)
        WHERE session_id = $1 AND spent_at IS NOT NULL`,
      [sessionId, seconds],
    );
  const deleteUser = (id: string, admin: TokenPair) =>
    t.request({ method: 'DELETE', url: `/users/${id}`, headers: bearer(admin.accessToken) });
  /** Runs the hourly cleanup's statement: its count, or the error it failed with. */
  const startCleanup = () => {
    const run = {
      settled: false,
      result: t.app
        .get(SessionsRepository)
        .deleteEnded(new Date(Date.now() - 24 * 3600 * 1000))
        .then(
          (count): number | string => count,
          (error: Error) => error.message,
        )
        .finally(() => (run.settled = true)),
    };
    return run;
  };
  const liveTokens = async (sessionId: string) =>
    (
      await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1 AND spent_at IS NULL',
        [sessionId],
      )
    )[0].n;
  const revokedAt = async (sessionId: string) =>
    (
      await t.db.query<{ revoked_at: Date | null }>(
        'SELECT revoked_at FROM sessions WHERE id = $1',
        [sessionId],
      )
    )[0].revoked_at;

  it('rotates: a new pair, the presented token spent, the new one usable, same session', async () => {
    const { tokens } = await newAccount(t);
    const session = await sessionOf(tokens);
    const res = await refresh(t, tokens.refreshToken);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const next: TokenPair = res.json();
    expect(next.refreshToken).not.toBe(tokens.refreshToken);
    expect(next.accessToken).not.toBe(tokens.accessToken);
    expect((await get(t, '/users/me', next.accessToken)).statusCode).toBe(200);
    expect((await sessionOf(next)).id).toBe(session.id);
    expect((await refresh(t, next.refreshToken)).statusCode).toBe(200);
  });

  it('never extends the session: refreshExpiresIn counts down to the login’s absolute expiry', async () => {
    const { tokens } = await newAccount(t);
    const session = await sessionOf(tokens);
    await t.db.query(
      `UPDATE sessions SET expires_at = now() + interval '100 seconds' WHERE id = $1`,
      [session.id],
    );
    const next: TokenPair = (await refresh(t, tokens.refreshToken)).json();
    expect(next.refreshExpiresIn).toBeLessThanOrEqual(100);
    expect(next.refreshExpiresIn).toBeGreaterThan(95);
    // Nor does its access token outlive it (ACCESS_TOKEN_TTL_SECONDS is longer), or say it does.
    const { payload } = decodeJwt(next.accessToken);
    expect(next.expiresIn).toBeLessThanOrEqual(100);
    expect(payload.exp - payload.iat).toBe(next.expiresIn);
    const [{ expires_at }] = await t.db.query<{ expires_at: Date }>(
      'SELECT expires_at FROM sessions WHERE id = $1',
      [session.id],
    );
    expect(expires_at.getTime() - Date.now()).toBeLessThanOrEqual(100_000);
  });

  it('gives the token spent last, presented again within the grace window, the same successor', async () => {
    const { tokens } = await newAccount(t);
    const first: TokenPair = (await refresh(t, tokens.refreshToken)).json();
    const again = await refresh(t, tokens.refreshToken);
    expect(again.statusCode).toBe(200);
    expect(again.json().refreshToken).toBe(first.refreshToken);
    expect(await liveTokens((await sessionOf(first)).id)).toBe(1);
  });

  it('treats the spent token after the grace window as theft: 401 refresh_token_reused, session revoked', async () => {
    const { tokens } = await newAccount(t);
    const session = await sessionOf(tokens);
    const next: TokenPair = (await refresh(t, tokens.refreshToken)).json();
    await spentAgo(session.id, 11);
    const reuse = await refresh(t, tokens.refreshToken);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json()).toMatchObject({ code: 'refresh_token_reused' });
    expect(await revokedAt(session.id)).not.toBeNull();
    // Everything descended from that login is dead: the successor, and its access tokens.
    expect((await refresh(t, next.refreshToken)).json()).toMatchObject({
      code: 'invalid_refresh_token',
    });
    expect((await get(t, '/users/me', next.accessToken)).json()).toMatchObject({
      status: 401,
      code: 'invalid_token',
    });
    expect((await get(t, '/users/me', tokens.accessToken)).statusCode).toBe(401);
  });

  it('treats any older ancestor as theft, even within the grace window', async () => {
    const { tokens } = await newAccount(t);
    const session = await sessionOf(tokens);
    const second: TokenPair = (await refresh(t, tokens.refreshToken)).json();
    const third: TokenPair = (await refresh(t, second.refreshToken)).json();
    const reuse = await refresh(t, tokens.refreshToken);
    expect(reuse.json()).toMatchObject({ status: 401, code: 'refresh_token_reused' });
    expect(await revokedAt(session.id)).not.toBeNull();
    expect((await refresh(t, third.refreshToken)).statusCode).toBe(401);
  });

  it('answers 20 concurrent refreshes of one token with 200 and one successor: one live chain', async () => {
    const { tokens } = await newAccount(t);
    const session = await sessionOf(tokens);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refresh(t, tokens.refreshToken)),
    );
    expect(results.map((res) => res.statusCode)).toEqual(Array(20).fill(200));
    const successors = new Set(results.map((res) => res.json().refreshToken));
    expect(successors.size).toBe(1);
    expect(await liveTokens(session.id)).toBe(1);
    expect(await revokedAt(session.id)).toBeNull();
    expect((await refresh(t, [...successors][0])).statusCode).toBe(200);
  });

  it('answers a refresh racing the deletion of its user 401, and the deletion 204: no deadlock', async () => {
    // A row lock held by the test on the session makes both wait, the deletion first: it then
    // reaches the session before the refresh, which by then holds its token. Locking in opposite
    // orders (token then session, session then token) deadlocked, and one of them got a 503.
    const account = await newAccount(t, 'race-delete');
    const session = await sessionOf(account.tokens);
    const admin = await superuserTokens(t);
    const holder = await openTransaction(t, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [
      session.id,
    ]);
    try {
      const deletion = deleteUser(account.id, admin);
      await untilWaitingOnLocks(t, 1);
      const rotation = refresh(t, account.tokens.refreshToken);
      await untilWaitingOnLocks(t, 2);
      await holder.query('COMMIT');

      const [deleted, refreshed] = await Promise.all([deletion, rotation]);
      expect(deleted.statusCode).toBe(204);
      expect(refreshed.statusCode).toBe(401);
      expect(refreshed.json().code).toBe('invalid_refresh_token');
      expect(await t.db.query('SELECT 1 FROM sessions WHERE id = $1', [session.id])).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  it('answers a refresh racing the logout of its session 401, never a pair for the ended session', async () => {
    // A lock held by the test on the session queues the logout first, then the refresh.
    const account = await newAccount(t, 'race-logout');
    const session = await sessionOf(account.tokens);
    const holder = await openTransaction(t, 'SELECT 1 FROM sessions WHERE id = $1 FOR SHARE', [
      session.id,
    ]);
    try {
      const logout = post(t, '/auth/logout', undefined, bearer(account.tokens.accessToken));
      await untilWaitingOnLocks(t, 1);
      const rotation = refresh(t, account.tokens.refreshToken);
      await untilWaitingOnLocks(t, 2);
      await holder.query('COMMIT');
      expect((await logout).statusCode).toBe(204);
      const rotated = await rotation;
      expect([rotated.statusCode, rotated.json().code]).toEqual([401, 'invalid_refresh_token']);
    } finally {
      await holder.end();
    }
    expect(await liveTokens(session.id)).toBe(0);
  });

  it('locks the successor a refresh committed while the deletion waited: a refresh of it is 401, no deadlock', async () => {
    // A refresh (played by the test, so the successor is known) holds the session's token while
    // the deletion waits for it, then commits a successor. A lock held by the test on the session
    // then stops the deletion's cascade there, while a real refresh of the successor comes in.
    const account = await newAccount(t, 'race-successor');
    const session = await sessionOf(account.tokens);
    const admin = await superuserTokens(t);
    const codec = t.app.get(RefreshTokenCodec);
    const successor = codec.issue();
    const sessionHolder = await openTransaction(
      t,
      'SELECT 1 FROM sessions WHERE id = $1 FOR SHARE',
      [session.id],
    );
    const refreshHolder = await openTransaction(
      t,
      'UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = $1',
      [codec.hash(account.tokens.refreshToken)],
    );
    try {
      await refreshHolder.query(
        `INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at)
         VALUES ($1, $2, 1, now())`,
        [codec.hash(successor), session.id],
      );
      const deletion = deleteUser(account.id, admin);
      await untilWaitingOnLocks(t, 1);
      await refreshHolder.query('COMMIT');
      await untilWaitingOnLocks(t, 1, 'DELETE FROM');
      const rotation = refresh(t, successor);
      await untilWaitingOnLocks(t, 2);
      await sessionHolder.query('COMMIT');
      const [deleted, rotated] = await Promise.all([deletion, rotation]);
      expect(deleted.statusCode).toBe(204);
      expect([rotated.statusCode, rotated.json().code]).toEqual([401, 'invalid_refresh_token']);
    } finally {
      await refreshHolder.end();
      await sessionHolder.end();
    }
  });

  it('lets a user be deleted while the hourly cleanup deletes the user’s ended sessions: no deadlock', async () => {
    // The user has a live session, and one that ended two days ago with its last token unspent,
    // which the cleanup deletes. A lock held by the test on the live session makes the deletion
    // wait there, having taken its first locks, while the cleanup runs.
    const account = await newAccount(t, 'race-cleanup');
    const live = await sessionOf(account.tokens);
    const ended = await login(t, account.email, account.password);
    await t.db.query(
      `UPDATE sessions SET revoked_at = now() - interval '2 days', revoked_reason = 'logout'
        WHERE id = $1`,
      [decodeJwt(ended.accessToken).payload.sid],
    );
    const admin = await superuserTokens(t);
    const holder = await openTransaction(t, 'SELECT 1 FROM sessions WHERE id = $1 FOR SHARE', [
      live.id,
    ]);
    try {
      const deletion = deleteUser(account.id, admin);
      await untilWaitingOnLocks(t, 1);
      const cleanup = startCleanup();
      // The cleanup either finishes, or waits for a lock (the deletion's).
      await within(5_000, async () => cleanup.settled || (await waitingOnLocks(t)) >= 2);
      await holder.query('COMMIT');
      expect((await deletion).statusCode).toBe(204);
      expect(await cleanup.result).toEqual(expect.any(Number));
    } finally {
      await holder.end();
    }
  });

  it('lets a user with two ended sessions be deleted while the hourly cleanup runs: no deadlock', async () => {
    // Revoked in reverse order, the sessions' new row versions lie in reverse order: the cleanup's
    // scan of the table meets the second session first, the deletion's cascade (through the
    // user_id index) the first. A lock held by the test on the second stops whichever comes to
    // it; locking both in opposite orders, the two statements deadlocked.
    const account = await newAccount(t, 'race-cleanup-two');
    const second = await login(t, account.email, account.password);
    const [first, later] = [account.tokens, second].map(
      (tokens) => decodeJwt(tokens.accessToken).payload.sid as string,
    );
    for (const id of [later, first]) {
      await t.db.query(
        `UPDATE sessions SET revoked_at = now() - interval '2 days', revoked_reason = 'logout'
          WHERE id = $1`,
        [id],
      );
    }
    const admin = await superuserTokens(t);
    const holder = await openTransaction(t, 'SELECT 1 FROM sessions WHERE id = $1 FOR SHARE', [
      later,
    ]);
    try {
      const cleanup = startCleanup();
      await within(5_000, async () => cleanup.settled || (await waitingOnLocks(t)) >= 1);
      const cleanupWaited = !cleanup.settled;
      const deletion = deleteUser(account.id, admin);
      await untilWaitingOnLocks(t, cleanupWaited ? 2 : 1);
      await holder.query('COMMIT');
      expect((await deletion).statusCode).toBe(204);
      expect(await cleanup.result).toEqual(expect.any(Number));
      // The cleanup skips what others hold: it never waits for a session's lock.
      expect(cleanupWaited).toBe(false);
    } finally {
      await holder.end();
    }
    const [{ n }] = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sessions WHERE id IN ($1, $2)',
      [first, later],
    );
    expect(n).toBe(0);
  });

  it.each([
    ['unknown', 'rt_' + 'A'.repeat(43)],
    ['malformed', 'not-a-refresh-token'],
    ['truncated', 'rt_abc'],
    // Malformed whatever it holds: a credential that does not work, not a body that is not valid.
    ['overlong', 'rt_' + 'A'.repeat(10_000)],
    ['NUL-holding', 'rt_' + 'A'.repeat(20) + '\u0000' + 'A'.repeat(22)],
    ['lone-surrogate', 'rt_\ud800' + 'A'.repeat(42)],
  ])('refuses an %s token with 401 invalid_refresh_token', async (_label, token) => {
    const res = await refresh(t, token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'invalid_refresh_token' });
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('refuses an access token presented as a refresh token, revoking nothing', async () => {
    const { tokens } = await newAccount(t);
    const res = await refresh(t, tokens.accessToken);
    expect(res.json()).toMatchObject({ status: 401, code: 'invalid_refresh_token' });
    expect((await get(t, '/users/me', tokens.accessToken)).statusCode).toBe(200);
    expect((await refresh(t, tokens.refreshToken)).statusCode).toBe(200);
  });

  it('refuses a token of an expired or revoked session with invalid_refresh_token, not reuse', async () => {
    const expired = await newAccount(t);
    const expiredSession = await sessionOf(expired.tokens);
    await t.db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expiredSession.id,
    ]);
    expect((await refresh(t, expired.tokens.refreshToken)).json()).toMatchObject({
      code: 'invalid_refresh_token',
    });

    const revoked = await newAccount(t);
    await post(t, '/auth/logout', undefined, bearer(revoked.tokens.accessToken));
    expect((await refresh(t, revoked.tokens.refreshToken)).json()).toMatchObject({
      code: 'invalid_refresh_token',
    });
  });

  it.each([
    ['an empty token', { refreshToken: '' }],
    ['no token', {}],
    ['a number', { refreshToken: 42 }],
    ['an extra field', { refreshToken: 'rt_x', sessionId: 'x' }],
  ])('answers %s with 400 validation_failed', async (_label, body) => {
    const res = await post(t, '/auth/refresh', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const { tokens } = await newAccount(t);
    const rows = await t.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM refresh_tokens');
    expect(rows.every((row) => row.token_hash.length === 32)).toBe(true);
    const dump =
      JSON.stringify(await t.db.query('SELECT * FROM refresh_tokens')) +
      JSON.stringify(await t.db.query('SELECT * FROM sessions'));
    expect(dump).not.toContain(tokens.refreshToken.slice(3));
  });
});
