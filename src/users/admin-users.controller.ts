import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentActor, type Actor } from '../common/decorators/actor.decorator';
import {
  RequireSuperuser,
  SUPERUSERS_ONLY,
} from '../common/decorators/require-superuser.decorator';
import { ApiProblem, ApiProblems } from '../common/openapi/api-problems.decorator';
import { ApiQueryFields } from '../common/openapi/api-query.decorator';
import type { Page } from '../common/validation/page';
import { ResourceIdPipe } from '../common/validation/resource-id.pipe';
import {
  CreateUserSchema,
  ListUsersQuerySchema,
  UpdateUserSchema,
  type CreateUserRequest,
  type ListUsersQuery,
  type UpdateUserRequest,
} from './dto/user-requests';
import {
  toUserResponse,
  UserPageSchema,
  UserResponseSchema,
  type UserResponse,
} from './dto/user.response';
import { UsersService } from './users.service';
import { NoBody } from '../common/decorators/no-body.decorator';

/** User administration, for superusers. */
@ApiTags('users (admin)')
@ApiBearerAuth()
@RequireSuperuser()
@ApiProblems('invalid_token')
@Controller('users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List users, newest first; search matches email or full name' })
  @ApiOkResponse({ standardSchema: UserPageSchema })
  @ApiProblems('validation_failed')
  @ApiQueryFields(ListUsersQuerySchema)
  async list(
    @Query({ schema: ListUsersQuerySchema }) query: ListUsersQuery,
  ): Promise<Page<UserResponse>> {
    const page = await this.users.list(query);
    return { data: page.data.map(toUserResponse), count: page.count };
  }

  @Post()
  @ApiOperation({ summary: 'Create a user' })
  @ApiCreatedResponse({ standardSchema: UserResponseSchema })
  @ApiProblems('validation_failed', 'weak_password', 'email_taken')
  async create(
    @CurrentActor() actor: Actor,
    @Body({ schema: CreateUserSchema }) body: CreateUserRequest,
  ): Promise<UserResponse> {
    return toUserResponse(await this.users.create(body, actor));
  }

  @Get(':id')
  @ApiOperation({ summary: 'A user' })
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  @ApiProblems('not_found')
  async get(@Param('id', ResourceIdPipe) id: string): Promise<UserResponse> {
    return toUserResponse(await this.users.findOrFail(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a user',
    description:
      'Deactivating a user, or setting their password, revokes all their sessions. A change of ' +
      'roles or superuser flag applies to their existing tokens within a second. A body naming ' +
      'no field changes nothing (updatedAt included).',
  })
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  @ApiProblems('validation_failed', 'weak_password', 'not_found', 'email_taken')
  @ApiProblem(
    403,
    ['forbidden'],
    `${SUPERUSERS_ONLY}, or the change would remove the caller's own superuser rights or deactivate the caller`,
  )
  async update(
    @CurrentActor() actor: Actor,
    @Param('id', ResourceIdPipe) id: string,
    @Body({ schema: UpdateUserSchema }) body: UpdateUserRequest,
  ): Promise<UserResponse> {
    return toUserResponse(await this.users.update(id, body, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user, with their sessions, tokens and keys' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems('validation_failed', 'not_found')
  @ApiProblem(
    403,
    ['forbidden', 'cannot_delete_self'],
    `${SUPERUSERS_ONLY} (forbidden), or the user to delete is the caller (cannot_delete_self)`,
  )
  async delete(
    @CurrentActor() actor: Actor,
    @Param('id', ResourceIdPipe) id: string,
    @NoBody() _body: void,
  ): Promise<void> {
    await this.users.delete(actor, id);
  }
}
