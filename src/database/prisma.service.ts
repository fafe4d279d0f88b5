import { createHash } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { AppConfig } from '../config/app-config';
import { PrismaClient } from '../generated/prisma/client';
import { DatabaseServer } from './database-server';

/**
 * Every database wait is bounded, because node-postgres waits forever by default and the contract
 * wants a 503 within 5 seconds when the database is down, slow or saturated: a connection (new, or
 * a free one from an exhausted pool) within `connectionMs`, a statement within `statementMs`
 * (server-side) or `queryMs` (client-side), an interactive transaction within `transactionMaxWaitMs`
 * to start and `transactionMs` in all. The sums stay under 5 s.
 */
export const DATABASE_TIMEOUTS = {
  connectionMs: 1_500,
  statementMs: 2_500,
  /** Client-side backstop for a server that stopped answering without closing the socket. */
  queryMs: 3_000,
  transactionMaxWaitMs: 1_000,
  transactionMs: 3_500,
  /** Server-side: a session left idle inside a transaction is ended. */
  idleInTransactionMs: 10_000,
} as const;

const statementNames = new Map<string, string>();

/** A stable name per SQL text; the service's queries are a small, fixed set. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `s_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    // A bound, in case some query's text ever varies (it is only a cache of names).
    if (statementNames.size >= 1_000) statementNames.clear();
    statementNames.set(sql, name);
  }
  return name;
}

@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  private static readonly logger = new Logger('Database');

  /**
   * The connection pool, shared with the few components that speak node-postgres themselves
   * (rate-limiter-flexible's PostgreSQL store), so the service keeps one pool and one set of
   * timeouts. Prisma ends it on $disconnect.
   */
  readonly pool: Pool;
  private readonly finalWork: { work: () => Promise<void>; stage: 'work' | 'flush' }[] = [];

  constructor(
    private readonly server: DatabaseServer,
    config: AppConfig,
  ) {
    const pool = new Pool({
      connectionString: server.url,
      max: config.database.poolSize,
      connectionTimeoutMillis: DATABASE_TIMEOUTS.connectionMs,
      statement_timeout: DATABASE_TIMEOUTS.statementMs,
      query_timeout: DATABASE_TIMEOUTS.queryMs,
      idle_in_transaction_session_timeout: DATABASE_TIMEOUTS.idleInTransactionMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'auth-service',
    });
    super({
      adapter: new PrismaPg(pool, {
        disposeExternalPool: true,
        // An idle connection dropped by a database restart is replaced on the next checkout.
        onPoolError: (error) =>
          PrismaService.logger.warn(`Idle database connection lost: ${error.message}`),
        // Named (prepared) statements: PostgreSQL parses and plans each query once per
        // connection instead of on every execution.
        statementNameGenerator: ({ sql }) => statementName(sql),
      }),
      errorFormat: 'minimal',
      transactionOptions: {
        maxWait: DATABASE_TIMEOUTS.transactionMaxWaitMs,
        timeout: DATABASE_TIMEOUTS.transactionMs,
      },
    });
    this.pool = pool;
  }

  /**
   * Registers work that must reach the database before it is closed at shutdown, run in `stage`
   * order (then registration order): background work first, then what writes its results
   * (buffered audit events). Nest runs shutdown hooks module by module, in an order this does
   * not rely on.
   */
  beforeDisconnect(work: () => Promise<void>, stage: 'work' | 'flush' = 'work'): void {
    this.finalWork.push({ work, stage });
  }

  /** `SELECT 1`, for readiness. */
  async ping(): Promise<void> {
    await this.$queryRawUnsafe('SELECT 1');
  }

  /**
   * Runs after the HTTP server has drained (Nest closes it between the destroy and the shutdown
   * hooks), so in-flight requests keep their connections; the embedded database stops last.
   */
  async onApplicationShutdown(): Promise<void> {
    for (const stage of ['work', 'flush'] as const) {
      const works = this.finalWork.filter((item) => item.stage === stage);
      await Promise.all(works.map(({ work }) => work().catch(() => undefined)));
    }
    await this.$disconnect();
    await this.server.stop();
  }
}
