import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { RequireSuperuser } from '../common/decorators/require-superuser.decorator';
import { ApiProblems } from '../common/openapi/api-problems.decorator';
import { ApiQueryFields } from '../common/openapi/api-query.decorator';
import type { Principal } from '../common/principal';
import type { Page } from '../common/validation/page';
import { AuditTrail } from './audit-trail.service';
import {
  AuditEventPageSchema,
  AuditEventResponseSchema,
  AuditEventsQuerySchema,
  SecurityEventsQuerySchema,
  toAuditEventResponse,
  type AuditEventResponse,
  type AuditEventsQuery,
  type SecurityEventsQuery,
} from './dto/audit-events.dto';

const EVENT_TYPES_DESCRIPTION =
  "Types: the contract's list. `detail` never holds a password, token or key.";

@ApiTags('audit')
@ApiBearerAuth()
@ApiProblems('invalid_token')
@Controller()
export class AuditEventsController {
  constructor(private readonly trail: AuditTrail) {}

  @Get('audit-events')
  @RequireSuperuser()
  @ApiOperation({
    summary: 'Security events of every user, newest first (superusers)',
    description: EVENT_TYPES_DESCRIPTION,
  })
  @ApiOkResponse({ standardSchema: AuditEventPageSchema })
  @ApiProblems('validation_failed')
  @ApiQueryFields(AuditEventsQuerySchema)
  async list(
    @Query({ schema: AuditEventsQuerySchema }) query: AuditEventsQuery,
  ): Promise<Page<AuditEventResponse>> {
    const page = await this.trail.list(query);
    return { data: page.data.map(toAuditEventResponse), count: page.count };
  }

  @Get('users/me/security-events')
  @ApiOperation({
    summary: 'Your own recent security events, newest first',
    description: EVENT_TYPES_DESCRIPTION,
  })
  @ApiOkResponse({ standardSchema: z.array(AuditEventResponseSchema) })
  @ApiProblems('validation_failed')
  @ApiQueryFields(SecurityEventsQuerySchema)
  async mine(
    @CurrentUser() principal: Principal,
    @Query({ schema: SecurityEventsQuerySchema }) query: SecurityEventsQuery,
  ): Promise<AuditEventResponse[]> {
    const events = await this.trail.forUser(principal.user.id, query.limit);
    return events.map(toAuditEventResponse);
  }
}
