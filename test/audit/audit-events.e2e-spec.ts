import { AuditLog } from '../../src/audit/audit-log.service';
import {
  bearer,
  get,
  login,
  newAccount,
  post,
  refresh,
  superuserTokens,
  uniqueEmail,
  within,
  type TokenPair,
} from '../support/auth';
import { Client } from 'pg';
import { captureLogs } from '../support/logs';
import { createTestApp, type TestApp } from '../support/test-app';

interface Event {
  id: string;
  type: string;
  at: string;
  userId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown>;
}

describe('audit trail', () => {
  let t: TestApp;
  let admin: TokenPair;
  const logs = captureLogs('warn');

  beforeAll(async () => {
    t = await createTestApp({}, { logger: logs.logger });
    admin = await superuserTokens(t);
  });
  afterAll(() => t.close());

  const adminEvents = async (query: string): Promise<{ data: Event[]; count: number }> => {
    const res = await get(t, `/audit-events?${query}`, admin.accessToken);
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  it('records each security action with its user, session, client and a small detail', async () => {
    const ua = { 'user-agent': 'audit-test/1.0' };
    const email = uniqueEmail('audited');
    const password = 'audited-password-1';
    const signup = await post(t, '/auth/signup', { email, password }, ua);
    const userId: string = signup.json().id;
    await post(t, '/auth/login', { email, password: 'wrong password!' }, ua);
    const first = (await post(t, '/auth/login', { email, password }, ua)).json();
    const second = await login(t, email, password);
    const rotated = (await refresh(t, first.refreshToken)).json();
    await t.db.query(
      `UPDATE refresh_tokens SET spent_at = now() - interval '1 hour' WHERE spent_at IS NOT NULL`,
    );
    expect((await refresh(t, first.refreshToken)).json().code).toBe('refresh_token_reused');
    const sessions = (await get(t, '/auth/sessions', second.accessToken)).json();
    const third = await login(t, email, password);
    await t.request({
      method: 'DELETE',
      url: `/auth/sessions/${sessions[0].id}`,
      headers: bearer(third.accessToken),
    });
    await t.request({
      method: 'POST',
      url: '/users/me/password',
      headers: bearer(third.accessToken),
      payload: { currentPassword: password, newPassword: 'audited-password-2' },
    });
    await post(t, '/auth/logout', undefined, bearer(third.accessToken));
    await t.request({
      method: 'PATCH',
      url: `/users/${userId}`,
      headers: bearer(admin.accessToken),
      payload: { roles: ['auditor'], password: 'set by the admin' },
    });
    await t.request({
      method: 'DELETE',
      url: `/users/${userId}`,
      headers: bearer(admin.accessToken),
    });

    const { data } = await adminEvents(`userId=${userId}&limit=100`);
    const types = data.map((e) => e.type).reverse();
    expect(types).toEqual([
      'signup',
      'login_failed',
      'login_succeeded',
      'login_succeeded',
      'refresh',
      'refresh_reuse_detected',
      'login_succeeded',
      'session_revoked',
      'password_changed',
      'logout',
      'user_updated',
      'user_deleted',
    ]);
    const byType = (type: string) => data.find((e) => e.type === type)!;
    expect(byType('signup')).toMatchObject({
      userId,
      ip: '127.0.0.1',
      userAgent: 'audit-test/1.0',
    });
    expect(byType('login_failed').detail).toEqual({ email, reason: 'wrong_password' });
    expect(rotated.refreshToken).toBeDefined();
    expect(byType('refresh').sessionId).toEqual(expect.any(String));
    expect(byType('refresh_reuse_detected').sessionId).toBe(byType('refresh').sessionId);
    expect(byType('session_revoked').sessionId).toBe(sessions[0].id);
    expect(byType('user_updated').detail).toMatchObject({ fields: ['password', 'roles'] });
    expect(byType('user_deleted').detail).toMatchObject({ email });
    const adminId = byType('user_deleted').detail.actorId;
    expect(typeof adminId).toBe('string');

    // Newest first, each with an id and a time.
    const times = data.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // No password, token or hash anywhere in the trail.
    const trail = JSON.stringify(await t.db.query('SELECT * FROM audit_events'));
    for (const secret of [
      password,
      'audited-password-2',
      'set by the admin',
      first.refreshToken,
      first.accessToken,
      'wrong password!',
    ]) {
      expect(trail).not.toContain(secret);
    }
    expect(trail).not.toContain('$argon2');
  });

  it('records failed logins for unknown emails and disabled accounts, with the reason', async () => {
    const nobody = uniqueEmail('nobody');
    await post(t, '/auth/login', { email: nobody, password: 'whatever-password' });
    const disabled = await newAccount(t, 'disabled');
    await t.request({
      method: 'PATCH',
      url: `/users/${disabled.id}`,
      headers: bearer(admin.accessToken),
      payload: { isActive: false },
    });
    await post(t, '/auth/login', { email: disabled.email, password: disabled.password });
    const { data } = await adminEvents('type=login_failed&limit=100');
    expect(data.find((e) => e.detail.email === nobody)).toMatchObject({
      userId: null,
      detail: { reason: 'unknown_email' },
    });
    expect(data.find((e) => e.detail.email === disabled.email)).toMatchObject({
      userId: disabled.id,
      detail: { reason: 'account_disabled' },
    });
  });

  it('filters by user, type and time, and pages like /users', async () => {
    const account = await newAccount(t, 'filtered');
    for (let i = 0; i < 3; i++) await login(t, account.email, account.password);
    const all = await adminEvents(`userId=${account.id}&type=login_succeeded`);
    expect(all.count).toBe(4);
    const page = await adminEvents(`userId=${account.id}&type=login_succeeded&offset=1&limit=2`);
    expect(page.count).toBe(4);
    expect(page.data.map((e) => e.id)).toEqual(all.data.slice(1, 3).map((e) => e.id));
    const since = all.data[1].at;
    expect(
      (
        await adminEvents(
          `userId=${account.id}&type=login_succeeded&since=${encodeURIComponent(since)}`,
        )
      ).count,
    ).toBe(2);
  });

  it('is readable by superusers only; users see their own events', async () => {
    const account = await newAccount(t, 'reader');
    const other = await newAccount(t, 'bystander');
    expect((await get(t, '/audit-events', account.tokens.accessToken)).statusCode).toBe(403);
    expect((await get(t, '/audit-events')).statusCode).toBe(401);
    const mine = await get(t, '/users/me/security-events?limit=5', account.tokens.accessToken);
    expect(mine.statusCode).toBe(200);
    const events: Event[] = mine.json();
    expect(events.map((e) => e.type)).toEqual(['login_succeeded', 'signup']);
    expect(events.every((e) => e.userId === account.id)).toBe(true);
    expect(mine.body).not.toContain(other.id);
    expect((await get(t, '/users/me/security-events')).statusCode).toBe(401);

    // An administrator's change shows as such, without the administrator's session or address.
    await t.request({
      method: 'PATCH',
      url: `/users/${account.id}`,
      headers: { ...bearer(admin.accessToken), 'user-agent': 'admin-console/2' },
      payload: { roles: ['reader'] },
    });
    const [latest] = (
      await get(t, '/users/me/security-events?limit=1', account.tokens.accessToken)
    ).json();
    expect(latest).toMatchObject({
      type: 'user_updated',
      userId: account.id,
      sessionId: null,
      ip: null,
      userAgent: null,
      detail: { fields: ['roles'], byAdministrator: true },
    });
    expect(latest.detail).not.toHaveProperty('actorId');
    const [full] = (await adminEvents(`userId=${account.id}&type=user_updated`)).data;
    expect(full).toMatchObject({
      userAgent: 'admin-console/2',
      detail: { actorId: expect.any(String) },
    });
  });

  it('takes any UUID as userId, as a path id is (a nil-like one matches nothing)', async () => {
    expect(await adminEvents('userId=00000000-0000-0000-0000-000000000001')).toEqual({
      data: [],
      count: 0,
    });
  });

  it('refuses bad queries with 400 validation_failed', async () => {
    for (const query of [
      'since=0000-01-01T00:00:00Z',
      'type=%00',
      'limit=0',
      'limit=101',
      'type=nonsense',
      'since=yesterday',
      'userId=42',
      'offset=-1',
      'offset=0x10',
      'limit=',
      'extra=1',
    ]) {
      const res = await get(t, `/audit-events?${query}`, admin.accessToken);
      expect([query, res.statusCode, res.json().code]).toEqual([query, 400, 'validation_failed']);
    }
    const account = await newAccount(t, 'bad-query');
    expect(
      (await get(t, '/users/me/security-events?limit=1000', account.tokens.accessToken)).statusCode,
    ).toBe(400);
  });

  it("uses the contract's closed list of event types, in the document and in the type filter", async () => {
    const contractTypes = [
      'signup',
      'login_succeeded',
      'login_failed',
      'logout',
      'refresh',
      'refresh_reuse_detected',
      'session_revoked',
      'password_changed',
      'password_reset_requested',
      'password_reset_completed',
      'api_key_created',
      'api_key_revoked',
      'user_created',
      'user_updated',
      'user_deleted',
    ].sort();
    const document = (await t.request({ method: 'GET', url: '/docs/json' })).json();
    const documented = document.components.schemas.AuditEvent.properties.type.enum as string[];
    expect([...documented].sort()).toEqual(contractTypes);
    const res = await get(t, '/audit-events?type=api_key_first_used', admin.accessToken);
    expect([res.statusCode, res.json().code]).toEqual([400, 'validation_failed']);

    // One an instance of an earlier version wrote during a rolling upgrade is never shown.
    const account = await newAccount(t, 'old-type');
    await t.db.query(
      `INSERT INTO audit_events (id, type, at, user_id, detail)
       VALUES (gen_random_uuid(), 'api_key_first_used', now(), $1, '{}')`,
      [account.id],
    );
    await t.app.get(AuditLog).flush();
    const listed = await adminEvents(`userId=${account.id}`);
    expect(listed.data.map((event) => event.type).sort()).toEqual(['login_succeeded', 'signup']);
    expect(listed.count).toBe(2);
    const own = await get(t, '/users/me/security-events', account.tokens.accessToken);
    expect(
      own
        .json()
        .map((event: Event) => event.type)
        .sort(),
    ).toEqual(['login_succeeded', 'signup']);
  });

  it('never fails or delays a login while audit writes cannot get through, and writes them later', async () => {
    const account = await newAccount(t, 'audit-down');
    await t.app.get(AuditLog).flush();
    // Another session holds the table: every insert waits, then times out (statement_timeout).
    const blocker = new Client({ connectionString: t.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const res = await post(t, '/auth/login', {
        email: account.email,
        password: account.password,
      });
      expect(res.statusCode).toBe(200);
      expect(Date.now() - started).toBeLessThan(1_000);
      await within(10_000, async () => logs.text().includes('will retry'));
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const { data } = await adminEvents(`userId=${account.id}&type=login_succeeded`);
    expect(data).toHaveLength(2);
  });

  it('drops only an event the database refuses, not the others of its batch', async () => {
    const account = await newAccount(t, 'audit-refused');
    await t.app.get(AuditLog).flush();
    await t.db.query(
      `ALTER TABLE audit_events ADD CONSTRAINT no_refresh CHECK (type <> 'refresh') NOT VALID`,
    );
    try {
      await refresh(t, account.tokens.refreshToken);
      await post(t, '/auth/logout', undefined, bearer(account.tokens.accessToken));
      await t.app.get(AuditLog).flush();
    } finally {
      await t.db.query('ALTER TABLE audit_events DROP CONSTRAINT no_refresh');
    }
    expect(logs.text()).toContain('Could not write an audit event (refresh)');
    const { data } = await adminEvents(`userId=${account.id}`);
    expect(data.map((e) => e.type)).toEqual(['logout', 'login_succeeded', 'signup']);
  });

  it('stores a batch exactly as recorded, whatever its text holds', async () => {
    // A batch goes in as one array per column: quotes, braces, commas, backslashes and the word
    // NULL in a value must come back unchanged, and absent values as null.
    const awkward = ['"quoted", {braced}', 'back\\slash \\" NULL', 'NULL', 'ünïcödé ✓ 🎉'];
    const account = await newAccount(t, 'awkward');
    const audit = t.app.get(AuditLog);
    await audit.flush();
    for (const userAgent of awkward) {
      audit.record({
        type: 'user_updated',
        userId: account.id,
        client: { ip: '2001:db8::1', userAgent },
        detail: { userAgent, nested: { list: [1, null, 'x'] } },
      });
    }
    audit.record({ type: 'user_updated', userId: account.id });
    await audit.flush();
    const { data } = await adminEvents(`userId=${account.id}&type=user_updated`);
    // Events of the same millisecond have no order among themselves.
    const stored = data.map((e) => [e.userAgent, e.ip, e.detail]);
    const expected = [
      ...awkward.map((ua) => [
        ua,
        '2001:db8::1',
        { userAgent: ua, nested: { list: [1, null, 'x'] } },
      ]),
      [null, null, {}],
    ];
    expect(stored).toHaveLength(expected.length);
    expect(stored).toEqual(expect.arrayContaining(expected));
  });

  it('prunes events older than AUDIT_RETENTION_DAYS', async () => {
    await t.app.get(AuditLog).flush();
    await t.db.query(
      `INSERT INTO audit_events (id, type, at, detail) VALUES
         (gen_random_uuid(), 'signup', now() - interval '91 days', '{"old":true}'),
         (gen_random_uuid(), 'signup', now() - interval '89 days', '{"recent":true}')`,
    );
    await t.app.get(AuditLog).pruneExpired();
    const rows = await t.db.query<{ detail: object }>(
      `SELECT detail FROM audit_events WHERE detail ? 'old' OR detail ? 'recent'`,
    );
    expect(rows.map((r) => r.detail)).toEqual([{ recent: true }]);
  });
});

describe('audit trail at shutdown', () => {
  it('writes the events still queued before the database is closed', async () => {
    const t = await createTestApp();
    const account = await newAccount(t, 'shutdown');
    await t.app.close();
    try {
      const rows = await t.db.query<{ type: string }>(
        'SELECT type FROM audit_events WHERE user_id = $1 ORDER BY at',
        [account.id],
      );
      expect(rows.map((r) => r.type)).toEqual(['signup', 'login_succeeded']);
    } finally {
      await t.db.drop();
    }
  });
});
