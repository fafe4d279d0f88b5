import { createApp } from './app.setup';
import { ConfigError } from './config/config-error';
import { loadAppConfigFromProcess } from './config/app-config';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadAppConfigFromProcess();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  // SIGTERM/SIGINT: stop accepting, drain in-flight requests, close the pool, stop the database.
  const app = await createApp(config, { shutdownHooks: true });
  await app.listen({ port: config.http.port, host: config.http.host });
}

void bootstrap();
