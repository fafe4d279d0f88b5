import { Logger, type Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/** The PostgreSQL the service talks to: DATABASE_URL, or the embedded one it started. */
export abstract class DatabaseServer {
  abstract readonly url: string;
  abstract readonly embedded: boolean;
  /** Stops the embedded PostgreSQL; nothing for an external server. */
  abstract stop(): Promise<void>;
}

export const EMBEDDED_DATABASE_NAME = 'auth';

export async function startDatabaseServer(config: AppConfig): Promise<DatabaseServer> {
  const { url } = config.database;
  if (url) return { url, embedded: false, stop: async () => undefined };
  const logger = new Logger('EmbeddedPostgres');
  const started = Date.now();
  const { EmbeddedPostgresServer } = await loadEmbeddedPostgres();
  const server = await EmbeddedPostgresServer.start({
    dataDir: config.database.dataDir,
    database: EMBEDDED_DATABASE_NAME,
    onLog: (message: string) => logger.debug(message),
  });
  logger.log(
    `Embedded PostgreSQL ready in ${Date.now() - started} ms (data in ${config.database.dataDir})`,
  );
  return { url: server.url, embedded: true, stop: () => server.stop() };
}

/**
 * Loaded only when used: a service with DATABASE_URL never touches the embedded binaries, and an
 * installation without optional dependencies (the container image) does not have them.
 */
async function loadEmbeddedPostgres() {
  try {
    return await import('./embedded-postgres.js');
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    if (!missing || !message?.includes('embedded-postgres')) throw error;
    throw new Error(
      'DATABASE_URL is not set, and the embedded PostgreSQL is not installed here (the optional ' +
        'dependency embedded-postgres; a container image leaves it out). Set DATABASE_URL.',
      { cause: error },
    );
  }
}

export const databaseServerProvider: Provider = {
  provide: DatabaseServer,
  inject: [AppConfig],
  useFactory: startDatabaseServer,
};
