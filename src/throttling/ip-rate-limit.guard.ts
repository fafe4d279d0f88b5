import { Injectable, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../common/client-info';
import { AppConfig } from '../config/app-config';
import { RateLimits, type RateLimit } from './rate-limits.service';

/**
 * IP_RATE_LIMIT_PER_MINUTE requests per client IP and minute, summed over every route that
 * carries @LimitPerIp() (login, signup, refresh, password-reset requests): one budget across all
 * emails, so one client cannot spread guesses over many accounts. The client IP is clientIp's.
 */
@Injectable()
export class IpRateLimitGuard implements CanActivate {
  private readonly limit: RateLimit;

  constructor(rateLimits: RateLimits, config: AppConfig) {
    this.limit = rateLimits.create({
      name: 'ip',
      points: config.ipRateLimitPerMinute,
      durationSeconds: 60,
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const ip = clientIp(context.switchToHttp().getRequest<FastifyRequest>());
    if (ip) await this.limit.consume(RateLimits.clientKey(ip));
    return true;
  }
}

/** Counts the route's requests against the client IP's budget (IpRateLimitGuard). */
export const LimitPerIp = () => UseGuards(IpRateLimitGuard);
