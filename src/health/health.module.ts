import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { DatabaseHealthIndicator } from './database.health';
import { GracefulShutdown } from './graceful-shutdown';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics.service';

/** Liveness, readiness (503 once a shutdown begins), metrics, and the shutdown's course. */
@Module({
  imports: [
    TerminusModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Failures are answered as 503 problem+json and logged by the error filter; terminus's own
        // error log would repeat them on every probe while the database is away.
        logger: false,
        // Terminus waits this long after SIGTERM (only), readiness 503 meanwhile.
        gracefulShutdownTimeoutMs: config.http.shutdownDelaySeconds * 1000,
      }),
    }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [DatabaseHealthIndicator, Metrics, GracefulShutdown],
  exports: [Metrics],
})
export class HealthModule {}
