import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { z } from 'zod';
import { Public } from '../common/decorators/public.decorator';
import { ApiProblems } from '../common/openapi/api-problems.decorator';
import { WithoutDatabase } from '../common/openapi/shared-problems';
import { DatabaseHealthIndicator } from './database.health';

/** One check's result, as terminus reports it. */
const CheckSchema = z.object({
  status: z.literal('up'),
  responseTime: z.number().optional().meta({ description: 'How long the check took, in ms' }),
});

const ReadinessSchema = z
  .object({
    status: z.literal('ok'),
    info: z.record(z.string(), CheckSchema),
    error: z.object({}),
    details: z.record(z.string(), CheckSchema),
  })
  .meta({ id: 'Readiness' });

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ standardSchema: z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' }) })
  @WithoutDatabase()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  // Terminus's own documentation describes its 503 body; ours is problem+json (see the filter).
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Readiness: 200 when the database answers and migrations are applied, else 503 (also from the start of a shutdown)',
  })
  @ApiOkResponse({ standardSchema: ReadinessSchema })
  @ApiProblems('service_unavailable')
  ready() {
    return this.health.check([() => this.database.check('database')]);
  }
}
