import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DatabaseServer } from './database-server';
import { isDatabaseUnavailableError } from './prisma-errors';
import { applyMigrations } from './schema-engine/migrations';

type AfterMigrationsHook = () => Promise<void>;

const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

/**
 * Brings the schema up to date when the service starts (`prisma migrate deploy`, in process),
 * then runs the hooks other modules registered (the first-superuser seed). If the database is not
 * there yet, the service still starts, reports not ready, and keeps trying in the background.
 */
@Injectable()
export class DatabaseSchemaService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseSchemaService.name);
  private readonly hooks: AfterMigrationsHook[] = [];
  private current = false;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;

  constructor(private readonly server: DatabaseServer) {}

  /** True once migrations are applied and the hooks have run. */
  get isCurrent(): boolean {
    return this.current;
  }

  /** Registers work to run once the schema is current (register from onModuleInit). */
  afterMigrations(hook: AfterMigrationsHook): void {
    this.hooks.push(hook);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.attempt();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retry);
  }

  private async attempt(): Promise<void> {
    try {
      const applied = await applyMigrations(this.server.url);
      if (applied.length) this.logger.log(`Applied migrations: ${applied.join(', ')}`);
      for (const hook of this.hooks) await hook();
      this.current = true;
    } catch (error) {
      // Anything but an unreachable database (a failed migration, a bug) must stop the start.
      if (!isDatabaseUnavailableError(error)) throw error;
      const delay = RETRY_DELAYS_MS[Math.min(this.attempts++, RETRY_DELAYS_MS.length - 1)];
      this.logger.warn(
        `Database not available (${(error as Error).message.split('\n')[0]}); retrying in ${delay} ms`,
      );
      this.retry = setTimeout(() => void this.attempt().catch((e) => this.fail(e)), delay);
    }
  }

  private fail(error: unknown): void {
    this.logger.error(`Database setup failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  }
}
