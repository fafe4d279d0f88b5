import { rm } from 'node:fs/promises';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { createApp } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { loadAppConfig } from '../../src/config/app-config';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { clusterTempDir } from '../support/temp-dir';
import { testEnvironment } from '../support/test-app';

/** What one request of the load got. */
interface Outcome {
  op: string;
  status: number;
  ms: number;
  at: number;
}

/** Half-written state that must never exist, whatever was interrupted. */
const INVARIANTS = {
  'a session without a refresh token': `
    SELECT count(*)::int AS n FROM sessions s
     WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)`,
  'a spent refresh token without its successor': `
    SELECT count(*)::int AS n FROM refresh_tokens t
      JOIN sessions s ON s.id = t.session_id
     WHERE t.spent_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM refresh_tokens n
                        WHERE n.session_id = t.session_id AND n.generation = t.generation + 1)`,
  'a chain with a gap': `
    SELECT count(*)::int AS n FROM (
      SELECT session_id, max(generation) + 1 - count(*) AS gap FROM refresh_tokens GROUP BY session_id
    ) chains WHERE gap <> 0`,
};

jest.setTimeout(120_000);

describe('database faults under load', () => {
  let dataDir: string;
  let database: EmbeddedPostgresServer;
  let port: number;
  const apps: NestFastifyApplication[] = [];

  beforeAll(async () => {
    dataDir = clusterTempDir('auth-faults-');
    database = await EmbeddedPostgresServer.start({ dataDir, database: 'auth' });
    port = Number(new URL(database.url).port);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}) {
    const config = loadAppConfig(
      testEnvironment({ DATABASE_URL: database.url, IP_RATE_LIMIT_PER_MINUTE: '1000000', ...env }),
    );
    const app = await createApp(config, {
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    });
    apps.push(app);
    const inject = app
      .getHttpAdapter()
      .getInstance()
      .inject.bind(app.getHttpAdapter().getInstance());
    return { app, inject };
  }
  const query = async <T>(sql: string): Promise<T[]> => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };

  it('survives a restart mid-traffic: answers within 5 s, never 500, recovers, leaves no half-state', async () => {
    const { inject } = await start();
    const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
      inject({ method: 'POST', url, payload, headers });
    const users = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const email = `fault-${i}-${Date.now()}@example.com`;
        const password = `fault-password-${i}`;
        expect((await post('/auth/signup', { email, password })).statusCode).toBe(201);
        const tokens = (await post('/auth/login', { email, password })).json();
        return { email, password, tokens };
      }),
    );

    const outcomes: Outcome[] = [];
    const begin = Date.now();
    const until = begin + 12_000;
    const record = (op: string, started: number, status: number) =>
      outcomes.push({ op, status, ms: Date.now() - started, at: started - begin });

    const worker = async (w: number) => {
      const user = users[w];
      let n = 0;
      while (Date.now() < until) {
        const started = Date.now();
        const op = ['refresh', 'me', 'refresh', 'login', 'signup', 'sessions'][n++ % 6];
        if (op === 'refresh') {
          const res = await post('/auth/refresh', { refreshToken: user.tokens.refreshToken });
          record(op, started, res.statusCode);
          if (res.statusCode === 200) user.tokens = res.json();
        } else if (op === 'login') {
          const res = await post('/auth/login', { email: user.email, password: user.password });
          record(op, started, res.statusCode);
          if (res.statusCode === 200) user.tokens = res.json();
        } else if (op === 'signup') {
          const res = await post('/auth/signup', {
            email: `fault-new-${w}-${n}-${Date.now()}@example.com`,
            password: 'fault-new-password',
          });
          record(op, started, res.statusCode);
        } else {
          const res = await inject({
            method: 'GET',
            url: op === 'me' ? '/users/me' : '/auth/sessions',
            headers: { authorization: `Bearer ${user.tokens.accessToken}` },
          });
          record(op, started, res.statusCode);
        }
        // A refresh token lost with a failed response: log in again, as a client would.
        if (outcomes.at(-1)!.status === 401 && op !== 'login') {
          const res = await post('/auth/login', { email: user.email, password: user.password });
          if (res.statusCode === 200) user.tokens = res.json();
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const chaos = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await database.stop();
      const downAt = Date.now() - begin;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      database = await EmbeddedPostgresServer.start({ dataDir, database: 'auth', port });
      return { downAt, upAt: Date.now() - begin };
    })();
    const [{ downAt, upAt }] = await Promise.all([chaos, ...users.map((_, w) => worker(w))]);

    const statuses = new Map<number, number>();
    for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    process.stdout.write(
      `restart mid-traffic: ${outcomes.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `database down ${downAt}-${upAt} ms, slowest ${Math.max(...outcomes.map((o) => o.ms))} ms\n`,
    );
    expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(5_000);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    // Recovered without a restart of the service: the last 3 seconds have no 503.
    expect(outcomes.filter((o) => o.at > upAt + 3_000 && o.status === 503)).toEqual([]);
    expect(outcomes.filter((o) => o.at > upAt + 3_000 && o.status === 200).length).toBeGreaterThan(
      10,
    );

    for (const [name, sql] of Object.entries(INVARIANTS)) {
      const [row] = await query<{ n: number }>(sql);
      expect([name, row.n]).toEqual([name, 0]);
    }
  });

  it('answers 503 within 5 s when the database is too slow, and serves again when it is not', async () => {
    const { inject } = await start({ DATABASE_POOL_SIZE: '2' });
    const email = `slow-${Date.now()}@example.com`;
    const login = () =>
      inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'slow password' } });
    expect(
      (
        await inject({
          method: 'POST',
          url: '/auth/signup',
          payload: { email, password: 'slow password' },
        })
      ).statusCode,
    ).toBe(201);

    const blocker = new Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      // More requests than connections: some wait for a statement, the rest for a connection.
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 6 }, login));
      const ms = Date.now() - started;
      process.stdout.write(
        `slow database: 6 logins answered ${results.map((r) => r.statusCode).join(',')} in ${ms} ms\n`,
      );
      for (const res of results) {
        expect(res.statusCode).toBe(503);
        expect(res.json().code).toBe('service_unavailable');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(ms).toBeLessThan(5_000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await login()).statusCode).toBe(200);
  });
});
