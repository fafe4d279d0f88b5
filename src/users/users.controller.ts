import { Body, Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentActor, type Actor } from '../common/decorators/actor.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Scopes } from '../common/decorators/scopes.decorator';
import { ApiProblems } from '../common/openapi/api-problems.decorator';
import type { Principal } from '../common/principal';
import {
  ChangePasswordSchema,
  UpdateProfileSchema,
  type ChangePasswordRequest,
  type UpdateProfileRequest,
} from './dto/user-requests';
import { toUserResponse, UserResponseSchema, type UserResponse } from './dto/user.response';
import { UsersService } from './users.service';

/** The caller's own account. */
@ApiTags('users')
@ApiBearerAuth()
@ApiProblems('invalid_token')
@Controller('users/me')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @Scopes('users:read')
  @ApiOperation({ summary: 'The current user (also with an API key that has users:read)' })
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  me(@CurrentUser() principal: Principal): UserResponse {
    return toUserResponse(principal.user);
  }

  @Patch()
  @ApiOperation({
    summary: 'Change your name or email',
    description:
      'isSuperuser, roles and isActive are not accepted here (400 validation_failed). A body ' +
      'naming no field changes nothing (updatedAt included).',
  })
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  @ApiProblems('validation_failed', 'email_taken')
  async update(
    @CurrentActor() actor: Actor,
    @Body({ schema: UpdateProfileSchema }) body: UpdateProfileRequest,
  ): Promise<UserResponse> {
    return toUserResponse(await this.users.updateProfile(actor, body));
  }

  @Post('password')
  @HttpCode(204)
  @ApiOperation({ summary: 'Change your password; your other sessions are revoked' })
  @ApiNoContentResponse({ description: 'Changed' })
  @ApiProblems(
    'validation_failed',
    'invalid_current_password',
    'weak_password',
    'too_many_attempts',
  )
  async changePassword(
    @CurrentActor() actor: Actor,
    @Body({ schema: ChangePasswordSchema }) body: ChangePasswordRequest,
  ): Promise<void> {
    await this.users.changePassword(actor, body.currentPassword, body.newPassword);
  }
}
