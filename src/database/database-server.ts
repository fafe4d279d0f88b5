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
  // Loaded only when used: a service with DATABASE_URL never touches the embedded binaries.
  const { EmbeddedPostgresServer } = await import('./embedded-postgres.js');
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

export const databaseServerProvider: Provider = {
  provide: DatabaseServer,
  inject: [AppConfig],
  useFactory: startDatabaseServer,
};
