import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics.service';
import { ShutdownLog } from './shutdown-log';

/** Liveness, readiness (503 once a shutdown begins), metrics, and the shutdown's log lines. */
@Module({
  // Failures are answered as 503 problem+json and logged by the error filter; terminus's own
  // error log would repeat them on every probe while the database is away.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, MetricsController],
  providers: [DatabaseHealthIndicator, Metrics, ShutdownLog],
  exports: [Metrics],
})
export class HealthModule {}
