import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, Response } from 'light-my-request';
import { createApp, type CreateAppOptions } from '../../src/app.setup';
import { createLogger } from '../../src/common/logging/logger';
import { loadAppConfig, type AppConfig } from '../../src/config/app-config';
import { createTestDatabase, type TestDatabase } from './test-database';

/** A JWT secret for tests (32+ bytes); tests never write one under DATA_DIR. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123';
export const TEST_SUPERUSER = { email: 'admin@example.com', password: 'admin-password-for-tests' };

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  /** An HTTP request through Fastify's inject: the full stack, no socket. */
  request(options: InjectOptions): Promise<Response>;
  close(): Promise<void>;
}

/** The environment a test app starts from; a test overrides what it is about. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    FIRST_SUPERUSER: TEST_SUPERUSER.email,
    FIRST_SUPERUSER_PASSWORD: TEST_SUPERUSER.password,
    DATA_DIR: '/nonexistent-data-dir-tests-must-not-write',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/**
 * Boots the real AppModule through createApp (the same setup as production) on a database of the
 * test file's own. Call close() in afterAll.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: CreateAppOptions = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadAppConfig(testEnvironment({ DATABASE_URL: db.url, ...env }));
  const app = await createApp(config, { logger: createLogger(config.logLevel), ...options });
  const fastify = app.getHttpAdapter().getInstance();
  return {
    app,
    config,
    db,
    request: (options) => fastify.inject(options),
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
