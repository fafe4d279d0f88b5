import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DatabaseServer } from './database-server';
import { firstLine } from './prisma-errors';
import { applyMigrations } from './schema-engine/migrations';

type AfterMigrationsHook = () => Promise<void>;

const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

/**
 * A definite migration failure, reported by the engine with a Prisma code: a migration that failed
 * (P3009, P3018, …) or an invalid schema (P1012). Anything else (the database refusing, starting
 * up, out of connections, another instance holding the migration lock) may pass, so it is retried.
 * A migration whose SQL fails is first reported without a code; the retry then sees it as P3009.
 */
function isMigrationFailure(error: unknown): boolean {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && (/^P3\d{3}$/.test(code) || code === 'P1012');
}

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
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
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

  /** The first attempt is awaited (a failed migration stops the start); retries are not. */
  async onApplicationBootstrap(): Promise<void> {
    await this.attempt();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.inFlight?.catch(() => undefined);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.inFlight = this.migrate();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }

  private async migrate(): Promise<void> {
    try {
      const applied = await applyMigrations(this.server.url);
      if (applied.length) this.logger.log(`Applied migrations: ${applied.join(', ')}`);
      for (const hook of this.hooks) await hook();
      this.current = true;
    } catch (error) {
      if (isMigrationFailure(error) || this.stopped) throw error;
      const delay = RETRY_DELAYS_MS[Math.min(this.attempts++, RETRY_DELAYS_MS.length - 1)];
      const { code } = error as { code?: string };
      this.logger.warn(
        `Database not ready for migrations${code ? ` (${code})` : ''}: ${firstLine(error)}; retrying in ${delay} ms`,
      );
      this.retry = setTimeout(() => void this.attempt().catch((e) => this.fail(e)), delay);
      this.retry.unref();
    }
  }

  /** A migration failed after start: a deployment error that must not go unnoticed. */
  private fail(error: unknown): void {
    if (this.stopped) return;
    this.logger.error(`Migrations failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  }
}
