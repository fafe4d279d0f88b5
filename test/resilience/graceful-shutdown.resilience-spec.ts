import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { freePort, queryEmbedded, ServiceProcess } from '../support/service-process';
import { clusterTempDir } from '../support/temp-dir';

jest.setTimeout(120_000);

/** The built service as a process, on its embedded PostgreSQL, stopped with SIGTERM under load. */
describe('SIGTERM under load', () => {
  const checkout = clusterTempDir('auth-drain-');
  const dataDir = path.join(checkout, '.data');
  // A test that fails half-way leaves no service behind (jest would wait for it without end).
  const started: ServiceProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const service = new ServiceProcess(await freePort(), env);
    started.push(service);
    return service;
  };
  afterEach(async () => {
    await Promise.all(started.filter((s) => s.running).map((s) => s.stop('SIGKILL')));
  });
  afterAll(() => rm(checkout, { recursive: true, force: true }));

  it('finishes the requests in flight before it closes, then stops its database', async () => {
    const service = await start({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'drain-test-secret-drain-test-secret-0123',
      FIRST_SUPERUSER_PASSWORD: 'drain-superuser-password',
      IP_RATE_LIMIT_PER_MINUTE: '100000',
    });
    await service.ready();
    const post = (route: string, body: object) =>
      fetch(`${service.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    const emails = Array.from({ length: 40 }, (_, i) => `drain-${i}@example.com`);
    for (const email of emails) {
      expect((await post('/auth/signup', { email, password: 'drain password' })).status).toBe(201);
    }
    // Open the connections first, so every login below is sent at once.
    await Promise.all(emails.map(() => service.get('/health/live')));

    // Forty logins (each an argon2 verify, two at a time per core, so most are still queued) are
    // in flight when the signal arrives: all received (each has taken its place among its
    // account's checks, which comes before the verify), few answered. A request still on its way
    // when the server closes is another matter: on a connection the server sees as idle it is
    // lost, as with any HTTP/1.1 server (SHUTDOWN_DELAY_SECONDS is what covers that, below).
    const inFlight = emails.map((email) =>
      post('/auth/login', { email, password: 'drain password' }),
    );
    for (let received = 0; received < emails.length;) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const [{ count }] = await queryEmbedded<{ count: number }>(
        dataDir,
        'SELECT count(*)::int AS count FROM login_throttle',
      );
      received = count;
    }
    const signalledAt = Date.now();
    const stopped = service.stop('SIGTERM');
    let answeredAfterSignal = 0;
    const answers = await Promise.all(
      inFlight.map((request) =>
        request.then(
          (res) => {
            if (Date.now() > signalledAt) answeredAfterSignal++;
            return res.status;
          },
          () => 'no answer',
        ),
      ),
    );
    const exit = await stopped;

    process.stdout.write(
      `SIGTERM with 40 logins sent: ${answeredAfterSignal} answered after the signal, ` +
        `statuses ${JSON.stringify([...new Set(answers)])}\n`,
    );
    expect(answers).toEqual(emails.map(() => 200));
    // The test means something only if many were still being worked on at the signal.
    expect(answeredAfterSignal).toBeGreaterThan(10);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(service.stderr).toBe('');
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('with SHUTDOWN_DELAY_SECONDS, goes on serving after the signal, not ready and closing connections, then stops', async () => {
    const delayedDataDir = path.join(checkout, '.data-delayed');
    const service = await start({
      DATA_DIR: delayedDataDir,
      LOG_LEVEL: 'info',
      JWT_SECRET: 'drain-test-secret-drain-test-secret-0123',
      FIRST_SUPERUSER_PASSWORD: 'drain-superuser-password',
      SHUTDOWN_DELAY_SECONDS: '2',
    });
    await service.ready();
    const login = () =>
      fetch(`${service.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@example.com', password: 'drain-superuser-password' }),
        signal: AbortSignal.timeout(10_000),
      });
    expect((await login()).headers.get('connection')).not.toBe('close');

    const signalledAt = Date.now();
    const stopped = service.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A load balancer's health check: the instance is leaving.
    const ready = await fetch(`${service.url}/health/ready`, {
      signal: AbortSignal.timeout(5_000),
    });
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(ready.headers.get('connection')).toBe('close');
    // A request the load balancer sent before it noticed, on a new connection: still served.
    const lateLogin = await login();
    expect(lateLogin.status).toBe(200);
    expect(lateLogin.headers.get('connection')).toBe('close');
    expect(Date.now() - signalledAt).toBeLessThan(2_000);

    const exit = await stopped;
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2_000);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(service.stderr).toBe('');
    expect(service.stdout).toContain(
      'Shutting down on SIGTERM: not ready, serving 2 s more, then finishing the requests in flight',
    );
    expect(existsSync(path.join(delayedDataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
