import { Module } from '@nestjs/common';
import { RateLimits } from './rate-limits.service';

@Module({ providers: [RateLimits], exports: [RateLimits] })
export class ThrottlingModule {}
