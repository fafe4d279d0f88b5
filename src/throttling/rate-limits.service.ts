import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { Injectable } from '@nestjs/common';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiException } from '../common/errors/api-exception';
import { PrismaService } from '../database/prisma.service';

export interface RateLimitOptions {
  /** Prefix of this limit's keys, unique per limit. */
  name: string;
  /** How many requests a key may make in `durationSeconds`. */
  points: number;
  durationSeconds: number;
}

/** A limit on how often a key (an email, an IP) may do something. */
export class RateLimit {
  constructor(private readonly limiter: RateLimiterPostgres) {}

  /**
   * Counts one request for `key`; beyond the limit, 429 too_many_attempts with Retry-After.
   * A failure of the store (the database away) is left to the caller's error handling (503).
   */
  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      throw new ApiException('too_many_attempts', {
        detail: 'Too many requests; try again later',
        retryAfterSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)),
      });
    }
  }
}

/**
 * Rate limits shared by every instance: rate-limiter-flexible's PostgreSQL store on the service's
 * own pool, one atomic upsert per request, in the `rate_limits` table (created by our migrations,
 * in the layout the store expects). Keys are hashed, so the table holds no emails or addresses.
 */
@Injectable()
export class RateLimits {
  constructor(private readonly prisma: PrismaService) {}

  create(options: RateLimitOptions): RateLimit {
    return new RateLimit(this.limiter(options));
  }

  /** The store's limiter itself, for counters that need more than consume(). */
  limiter(options: RateLimitOptions): RateLimiterPostgres {
    return new RateLimiterPostgres({
      storeClient: this.prisma.pool,
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      clearExpiredByTimeout: true,
      keyPrefix: options.name,
      points: options.points,
      duration: options.durationSeconds,
    });
  }

  /** The key under which `value` (an email, a client network) is counted. */
  static key(value: string): string {
    return createHash('sha256').update(value).digest('base64url');
  }

  /** The key a client is counted under: its network, within `scope` (an account) if given. */
  static clientKey(ip: string, scope?: string): string {
    const network = RateLimits.network(ip);
    return RateLimits.key(scope === undefined ? network : `${scope}\n${network}`);
  }

  /**
   * The client network an address is counted as: an IPv4 address (also written IPv4-mapped, as
   * `::ffff:192.0.2.1`, or NAT64-translated, as `64:ff9b::c000:201`) by itself, an IPv6 address
   * by its /64. One host or home is given a whole /64 and picks addresses from it at will (privacy
   * addresses rotate daily), so counting single IPv6 addresses would hand an attacker unlimited
   * budgets and forget a known device. (Providers often hand out a /56 or /48: an attacker with
   * one still has 256 or 65,536 budgets, against the per-account lock that holds regardless.)
   */
  static network(ip: string): string {
    if (!ipaddr.isValid(ip)) return ip;
    const address = ipaddr.process(ip);
    if (address.kind() === 'ipv4') return address.toString();
    const { parts } = address as ipaddr.IPv6;
    // Through a NAT64 gateway (64:ff9b::/96) every IPv4 client shares one /64: count the IPv4
    // address it carries in its last 32 bits.
    if (address.range() === 'rfc6052') {
      return [parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff].join('.');
    }
    return `${parts
      .slice(0, 4)
      .map((part) => part.toString(16))
      .join(':')}::/64`;
  }
}
