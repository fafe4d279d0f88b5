import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Client } from 'pg';
import { DatabaseServer } from './database-server';
import { PrismaService } from './prisma.service';
import type { Db } from './transaction';

/** What changed; every instance drops what it cached about it. */
export type Invalidation =
  { kind: 'user'; id: string } | { kind: 'session'; id: string } | { kind: 'api-key'; id: string };

type Listener = (invalidation: Invalidation) => void;

export const INVALIDATION_CHANNEL = 'auth_cache_invalidation';

/**
 * How often the listening connection proves it is alive, and how long it may take. A path that
 * goes silent (packets dropped, no error, no closed socket) loses notifications without a word,
 * so the caches must stop being trusted within the contract's second: a ping at most 250 ms after
 * the last answer, given up 500 ms later. One `SELECT 1` every 250 ms on an idle connection is
 * nothing; a false alarm (PostgreSQL itself slow to answer for half a second) costs a reconnection
 * and a cold cache.
 */
const HEARTBEAT_MS = 250;
const HEARTBEAT_TIMEOUT_MS = 500;
const RECONNECT_DELAYS_MS = [250, 500, 1_000, 2_000, 5_000];

/**
 * Carries cache invalidations to every instance through PostgreSQL's LISTEN/NOTIFY, so no other
 * server is needed. A change publishes inside its own transaction: PostgreSQL delivers the
 * notification to every listener (this instance included) when, and only if, it commits, within
 * milliseconds.
 *
 * Caches must be consulted only while `isListening`: notifications sent while the connection is
 * down are lost, so on every (re)connection the listeners are told to forget everything.
 */
@Injectable()
export class CacheInvalidationBus implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CacheInvalidationBus.name);
  private readonly listeners = new Set<Listener>();
  private readonly resetListeners = new Set<() => void>();
  private client: Client | undefined;
  private listening = false;
  private stopped = false;
  private attempts = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: DatabaseServer,
    private readonly prisma: PrismaService,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  /**
   * Publishes an invalidation: to the other instances when `db`'s transaction commits (at once
   * without one), and to this instance's caches immediately as well, so that its next request
   * after this one already sees the change. (A read racing the commit may cache the old state
   * again; the notification, arriving after the commit, drops it.)
   */
  async publish(invalidation: Invalidation, db: Db = this.prisma): Promise<void> {
    await db.$executeRaw`SELECT pg_notify(${INVALIDATION_CHANNEL}, ${JSON.stringify(invalidation)})`;
    this.deliverLocally(invalidation);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called whenever notifications may have been missed: forget everything cached. */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    clearTimeout(this.heartbeat);
    this.setListening(false);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.server.url,
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      application_name: 'auth-service-invalidations',
    });
    this.client = client;
    client.on('notification', (message) => this.deliver(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      this.attempts = 0;
      this.setListening(true);
      this.schedulePing(client);
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  /** The next ping, HEARTBEAT_MS after the last one was answered (never two at once). */
  private schedulePing(client: Client): void {
    this.heartbeat = setTimeout(() => void this.ping(client), HEARTBEAT_MS).unref();
  }

  private async ping(client: Client): Promise<void> {
    let answered = false;
    // Node runs due timers before it reads sockets: after the event loop was held up, the answer
    // may be waiting unread when the timeout fires. setImmediate decides after the reads.
    const timeout = setTimeout(
      () =>
        setImmediate(() => {
          if (!answered) this.lost(client, new Error('heartbeat timed out'));
        }),
      HEARTBEAT_TIMEOUT_MS,
    ).unref();
    try {
      await client.query('SELECT 1');
    } catch (error) {
      this.lost(client, error as Error);
      return;
    } finally {
      answered = true;
      clearTimeout(timeout);
    }
    if (client === this.client) this.schedulePing(client);
  }

  private lost(client: Client, error?: Error): void {
    if (client !== this.client || this.stopped) return;
    this.client = undefined;
    clearTimeout(this.heartbeat);
    if (this.listening) {
      this.logger.warn(`Cache invalidations interrupted: ${error?.message ?? 'connection ended'}`);
    }
    this.setListening(false);
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempts++, RECONNECT_DELAYS_MS.length - 1)];
    this.reconnect = setTimeout(() => void this.connect(), delay).unref();
  }

  private setListening(listening: boolean): void {
    if (listening === this.listening) return;
    this.listening = listening;
    // Whether we just lost the connection or just got it back, anything cached may be stale.
    for (const reset of this.resetListeners) reset();
    if (listening) this.logger.log('Listening for cache invalidations');
  }

  private deliver(payload: string | undefined): void {
    let invalidation: Invalidation;
    try {
      invalidation = JSON.parse(payload ?? '') as Invalidation;
    } catch {
      return;
    }
    this.deliverLocally(invalidation);
  }

  private deliverLocally(invalidation: Invalidation): void {
    for (const listener of this.listeners) listener(invalidation);
  }
}
