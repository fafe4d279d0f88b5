import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PrismaService } from '../database/prisma.service';

const LOGIN_OUTCOMES = [
  'succeeded',
  'invalid_credentials',
  'account_disabled',
  'throttled',
] as const;
const REFRESH_OUTCOMES = ['rotated', 'invalid', 'reused'] as const;
export type LoginOutcome = (typeof LOGIN_OUTCOMES)[number];
export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

/** Active sessions are counted at most this often (a scrape must not become a table scan storm). */
const ACTIVE_SESSIONS_TTL_MS = 15_000;

/** The Prometheus metrics the service exposes at /metrics. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: Histogram<'method' | 'route' | 'status'>;
  private readonly logins: Counter<'outcome'>;
  private readonly refreshes: Counter<'outcome'>;
  private readonly reuseDetections: Counter;
  private activeSessionsCount: { value: number; at: number } | undefined;

  constructor(private readonly prisma: PrismaService) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route (pattern) and status, with their latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.logins = new Counter({
      name: 'auth_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.refreshes = new Counter({
      name: 'auth_refreshes_total',
      help: 'Refresh-token exchanges by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.reuseDetections = new Counter({
      name: 'auth_refresh_reuse_detected_total',
      help: 'Spent refresh tokens presented again (the session was revoked)',
      registers,
    });
    // Every outcome's series exists from the start, at 0: rate() and alerts on a series that
    // appears only with its first event miss that event.
    for (const outcome of LOGIN_OUTCOMES) this.logins.inc({ outcome }, 0);
    for (const outcome of REFRESH_OUTCOMES) this.refreshes.inc({ outcome }, 0);
    const activeSessions = () => this.activeSessions();
    new Gauge({
      name: 'auth_active_sessions',
      help: 'Sessions neither revoked nor expired',
      registers,
      async collect() {
        const count = await activeSessions();
        // Not known (the database is away): no sample rather than a made-up 0, so a dashboard
        // shows a gap and `absent()` can alert on it.
        if (count === undefined) this.remove();
        else this.set(count);
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    // A child bound with labels() would not be cheaper: it hashes its label values on every
    // observation too (~0.4 µs either way, measured).
    this.httpRequests.observe({ method, route, status: String(status) }, seconds);
  }

  login(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
    if (outcome === 'reused') this.reuseDetections.inc();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async activeSessions(): Promise<number | undefined> {
    const cached = this.activeSessionsCount;
    if (cached && Date.now() - cached.at < ACTIVE_SESSIONS_TTL_MS) return cached.value;
    try {
      const value = await this.prisma.session.count({
        where: { revokedAt: null, expiresAt: { gt: new Date() } },
      });
      this.activeSessionsCount = { value, at: Date.now() };
      return value;
    } catch {
      // The database is away: the scrape still answers, without this gauge.
      return undefined;
    }
  }
}
