import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentActor, type Actor } from '../../common/decorators/actor.decorator';
import { CurrentUser } from '../../common/decorators/current-user.decorator';
import { ApiProblems } from '../../common/openapi/api-problems.decorator';
import type { Principal } from '../../common/principal';
import { ResourceIdPipe } from '../../common/validation/resource-id.pipe';
import { SessionSchema, toSessionResponse, type SessionResponse } from '../dto/auth-responses';
import { SessionsService } from './sessions.service';
import { NoBody } from '../../common/decorators/no-body.decorator';

/** The current user's sessions. */
@ApiTags('auth')
@ApiBearerAuth()
@ApiProblems('invalid_token')
@Controller('auth/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({ summary: 'Your active sessions; `current` marks the one of this token' })
  @ApiOkResponse({ standardSchema: z.array(SessionSchema) })
  async list(@CurrentUser() principal: Principal): Promise<SessionResponse[]> {
    const sessions = await this.sessions.listActive(principal.user.id);
    return sessions.map((session) => toSessionResponse(session, principal.sessionId));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of your sessions (another user’s is 404)' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblems('validation_failed', 'not_found')
  async revoke(
    @CurrentActor() actor: Actor,
    @Param('id', ResourceIdPipe) id: string,
    @NoBody() _body: void,
  ): Promise<void> {
    await this.sessions.revokeOwn(actor, id);
  }
}
