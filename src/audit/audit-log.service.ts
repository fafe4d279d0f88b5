import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { uuidv7 } from '../common/uuid';
import { AppConfig } from '../config/app-config';
import { DatabaseSchemaService } from '../database/database-schema.service';
import { firstLine, isDatabaseUnavailableError } from '../database/prisma-errors';
import { PrismaService } from '../database/prisma.service';
import type { AuditEventInput, AuditEventRecord } from './audit-event';
import { AuditEventsRepository } from './audit-events.repository';

/** A batch is written when this many events wait, or this long after the first of them. */
const BATCH_SIZE = 200;
const FLUSH_DELAY_MS = 250;
/** Beyond this many unwritten events (the database away for long), new ones are dropped. */
const MAX_PENDING = 20_000;
/** While the database is away, queued events are retried this often. */
const RETRY_DELAY_MS = 1_000;
const PRUNE_INTERVAL_MS = 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * The audit trail's writer. Recording an event is synchronous and cannot fail: events are queued in
 * memory and written in batches, off the request path, so an audit write never fails or delays
 * the request it describes. The price, stated plainly: events still queued when the process dies
 * abruptly are lost (a normal shutdown writes them first), and an event becomes readable up to
 * FLUSH_DELAY_MS after it happened (the read endpoints write what is queued before reading).
 */
@Injectable()
export class AuditLog implements OnModuleInit {
  private readonly logger = new Logger(AuditLog.name);
  private pending: AuditEventRecord[] = [];
  private unavailableSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly events: AuditEventsRepository,
    private readonly prisma: PrismaService,
    private readonly schema: DatabaseSchemaService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.prisma.beforeDisconnect(() => this.flush(), 'flush');
    this.schema.afterMigrations(() => {
      void this.pruneExpired();
      return Promise.resolve();
    });
  }

  record(input: AuditEventInput): void {
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ % 1000 === 0) {
        this.logger.warn(`Audit events are not being written; ${this.dropped} dropped so far`);
      }
      return;
    }
    const at = new Date();
    this.pending.push({
      id: uuidv7(at.getTime()),
      type: input.type,
      at,
      userId: input.userId ?? null,
      sessionId: input.sessionId ?? null,
      ip: input.client?.ip ?? null,
      userAgent: input.client?.userAgent ?? null,
      detail: input.detail ?? {},
    });
    if (this.pending.length >= BATCH_SIZE) this.schedule(0);
    else this.schedule(FLUSH_DELAY_MS);
  }

  /** Writes every queued event (those that can be written); resolves when done, never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.writeQueued());
    return this.writing;
  }

  @Interval(PRUNE_INTERVAL_MS)
  async pruneExpired(): Promise<void> {
    try {
      const cutoff = new Date(Date.now() - this.config.auditRetentionDays * DAY_MS);
      const count = await this.events.deleteBefore(cutoff);
      if (count) this.logger.log(`Deleted ${count} audit events older than the retention period`);
    } catch (error) {
      this.logger.warn(`Audit retention pruning failed: ${(error as Error).message}`);
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  private async writeQueued(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, BATCH_SIZE);
      try {
        await this.events.insertMany(batch);
      } catch (error) {
        if (isDatabaseUnavailableError(error)) {
          // The database is away: keep everything (up to MAX_PENDING) and try again later.
          this.pending = [...batch, ...this.pending].slice(0, MAX_PENDING);
          if (this.unavailableSince === undefined) {
            this.unavailableSince = Date.now();
            this.logger.warn(`Could not write audit events, will retry: ${firstLine(error)}`);
          }
          this.schedule(RETRY_DELAY_MS);
          return;
        }
        await this.writeOneByOne(batch);
      }
      this.unavailableSince = undefined;
    }
  }

  /** A batch the database refused: each event on its own, so only a bad one is lost. */
  private async writeOneByOne(batch: AuditEventRecord[]): Promise<void> {
    for (const event of batch) {
      try {
        await this.events.insertMany([event]);
      } catch (error) {
        this.logger.warn(`Could not write an audit event (${event.type}): ${firstLine(error)}`);
      }
    }
  }
}
