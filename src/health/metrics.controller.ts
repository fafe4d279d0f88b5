import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/decorators/public.decorator';
import { WithoutDatabase } from '../common/openapi/shared-problems';
import { Metrics } from './metrics.service';

@ApiTags('operations')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Request counts and latencies by route and status (http_request_duration_seconds), logins ' +
      'by outcome (auth_logins_total), refreshes (auth_refreshes_total), reuse detections ' +
      '(auth_refresh_reuse_detected_total), active sessions (auth_active_sessions), and the ' +
      'Node.js process.',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @WithoutDatabase()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await reply.type(this.metrics.contentType).send(await this.metrics.render());
  }
}
