import { rm } from 'node:fs/promises';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { clusterTempDir } from '../support/temp-dir';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * A PostgreSQL of this file's own, so it can be stopped and started again without disturbing the
 * other test files: readiness must follow it, within the contract's 5 seconds, with no restart.
 */
describe('readiness follows the database', () => {
  let dataDir: string;
  let database: EmbeddedPostgresServer;
  let port: number;
  let t: TestApp | undefined;

  beforeAll(async () => {
    dataDir = clusterTempDir('auth-readiness-');
    database = await EmbeddedPostgresServer.start({ dataDir, database: 'auth' });
    port = Number(new URL(database.url).port);
  });

  afterAll(async () => {
    await t?.app.close();
    await database.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const ready = async () => {
    const started = Date.now();
    const res = await t!.request({ method: 'GET', url: '/health/ready' });
    return {
      status: res.statusCode,
      body: res.json(),
      retryAfter: res.headers['retry-after'],
      ms: Date.now() - started,
    };
  };

  /** Starts the database again on its port and waits (up to 15 s) for readiness to follow. */
  const restartDatabaseAndWaitForReady = async () => {
    database = await EmbeddedPostgresServer.start({ dataDir, database: 'auth', port });
    let back = await ready();
    for (let i = 0; i < 60 && back.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      back = await ready();
    }
    return back.status;
  };

  it('is 200 with the database up, 503 within 5 s when it stops, 200 when it is back', async () => {
    t = await createTestApp({ DATABASE_URL: database.url });
    expect((await ready()).status).toBe(200);

    await database.stop();
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(5_000);
    expect(down.body).toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(Number(down.retryAfter)).toBeGreaterThan(0);
    const live = await t.request({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);

    expect(await restartDatabaseAndWaitForReady()).toBe(200);
  });

  it('starts without its database, reports not ready, and serves once the database arrives', async () => {
    await t?.app.close();
    await database.stop();
    t = await createTestApp({ DATABASE_URL: database.url });
    expect((await t.request({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(5_000);

    expect(await restartDatabaseAndWaitForReady()).toBe(200);
  });
});
