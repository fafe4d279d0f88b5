import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { freePort, queryEmbedded, ServiceProcess } from '../support/service-process';
import { clusterTempDir } from '../support/temp-dir';

const PASSWORD_LINE = /^FIRST_SUPERUSER_PASSWORD=(.+)$/gm;

// Each test starts and stops the service (and PostgreSQL) at least once.
jest.setTimeout(60_000);

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, so the service starts its own PostgreSQL
 * under DATA_DIR, migrates, seeds, serves; it stops cleanly and starts again on the same data.
 */
describe('the service on embedded PostgreSQL (no DATABASE_URL)', () => {
  // Like `.data` in a fresh clone: a directory the service itself creates, in one anyone can enter.
  const checkout = clusterTempDir('auth-lifecycle-');
  const dataDir = path.join(checkout, '.data');
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  afterAll(() => rm(checkout, { recursive: true, force: true }));

  const users = () =>
    queryEmbedded<{ email: string; is_superuser: boolean }>(
      dataDir,
      'SELECT email, is_superuser FROM users',
    );

  it('first start: prints the generated password once, keeps the JWT secret in DATA_DIR, serves ready', async () => {
    const service = new ServiceProcess(await freePort(), env);
    try {
      await service.ready();
      const passwords = [...service.stdout.matchAll(PASSWORD_LINE)].map((m) => m[1]);
      expect(passwords).toHaveLength(1);
      const password = passwords[0];
      // Only on its own line: never inside a log line, never on stderr.
      expect(service.stdout.replace(PASSWORD_LINE, '') + service.stderr).not.toContain(password);
      expect(await users()).toEqual([{ email: 'admin@example.com', is_superuser: true }]);
      expect(statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    } finally {
      const exit = await service.stop('SIGTERM');
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    }
    // The embedded PostgreSQL was stopped with it.
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('restart: same data, same JWT secret, nothing secret printed; Ctrl-C stops it cleanly, without the shutdown delay', async () => {
    const secretBefore = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8');
    // The delay is for SIGTERM (a load balancer draining the instance); Ctrl-C means now.
    const service = new ServiceProcess(await freePort(), { ...env, SHUTDOWN_DELAY_SECONDS: '30' });
    let stoppingFor: number;
    try {
      await service.ready();
      expect(service.stdout).not.toMatch(PASSWORD_LINE);
      expect(await users()).toEqual([{ email: 'admin@example.com', is_superuser: true }]);
      expect(readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8')).toBe(secretBefore);
      expect(service.stdout + service.stderr).not.toContain(secretBefore.trim());
    } finally {
      const stopping = Date.now();
      const exit = await service.stop('SIGINT');
      stoppingFor = Date.now() - stopping;
      expect(exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
    }
    expect(stoppingFor).toBeLessThan(10_000);
    // The log marks where the instance stopped serving.
    expect(service.stdout).toContain(
      'Shutting down on SIGINT: not ready, finishing the requests in flight',
    );
    const shutdown = service.stdout.indexOf('Shutting down on SIGINT');
    expect(shutdown).toBeGreaterThan(-1);
    expect(service.stdout.indexOf('Requests in flight answered')).toBeGreaterThan(shutdown);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});

describe('configuration errors at start', () => {
  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT must be an integer between 0 and 65535\n$/],
    [
      { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) },
      /^Invalid configuration: DATABASE_URL is required in production/,
    ],
    [
      {
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/x',
        JWT_SECRET: 'short',
      },
      /^Invalid configuration: JWT_SECRET must be at least 32 bytes/,
    ],
  ])('%j: exits 1 with one line on stderr', async (env, message) => {
    const service = new ServiceProcess(await freePort(), env);
    const exit = await service.exited;
    expect(exit.code).toBe(1);
    expect(service.stderr).toMatch(message);
    expect(service.stderr.trim().split('\n')).toHaveLength(1);
  });
});
