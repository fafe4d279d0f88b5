import { Module } from '@nestjs/common';
import { IpRateLimitGuard } from './ip-rate-limit.guard';
import { LoginThrottleRepository } from './login-throttle.repository';
import { throttleRulesProvider } from './login-throttle.rules';
import { LoginThrottle } from './login-throttle.service';
import { RateLimits } from './rate-limits.service';

/** Rate limits and login throttling, on counters every instance shares (PostgreSQL). */
@Module({
  providers: [
    RateLimits,
    throttleRulesProvider,
    LoginThrottleRepository,
    LoginThrottle,
    IpRateLimitGuard,
  ],
  exports: [RateLimits, LoginThrottle, IpRateLimitGuard],
})
export class ThrottlingModule {}
