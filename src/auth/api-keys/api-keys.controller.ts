import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentActor, type Actor } from '../../common/decorators/actor.decorator';
import { ApiProblem, ApiProblems } from '../../common/openapi/api-problems.decorator';
import { ResourceIdPipe } from '../../common/validation/resource-id.pipe';
import {
  ApiKeySchema,
  CreateApiKeySchema,
  CreatedApiKeySchema,
  toApiKeyResponse,
  type ApiKeyResponse,
  type CreateApiKeyRequest,
  type CreatedApiKeyResponse,
} from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';
import { NoBody } from '../../common/decorators/no-body.decorator';

/** The caller's API keys. Bearer tokens only: a key cannot manage keys. */
@ApiTags('api keys')
@ApiBearerAuth()
@ApiProblems('invalid_token')
@ApiProblem(403, ['forbidden'], 'an API key (X-API-Key) was sent: a key cannot manage keys')
@Controller('auth/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Get()
  @ApiOperation({ summary: 'Your API keys (never the keys themselves)' })
  @ApiOkResponse({ standardSchema: z.array(ApiKeySchema) })
  async list(@CurrentActor() actor: Actor): Promise<ApiKeyResponse[]> {
    return (await this.apiKeys.list(actor.userId)).map(toApiKeyResponse);
  }

  @Post()
  @ApiOperation({
    summary: 'Create an API key; the key is in this response only',
    description:
      'The key, `ak_<id>_<secret>`, is sent as `X-API-Key` and acts as you on the routes its ' +
      'scopes allow (`users:read`: GET /users/me); a key without scopes can do nothing. At most ' +
      '100 keys per user.',
  })
  @ApiCreatedResponse({ standardSchema: CreatedApiKeySchema })
  @ApiProblems('validation_failed')
  async create(
    @CurrentActor() actor: Actor,
    @Body({ schema: CreateApiKeySchema }) body: CreateApiKeyRequest,
  ): Promise<CreatedApiKeyResponse> {
    const { record, key } = await this.apiKeys.create(actor, body);
    return { ...toApiKeyResponse(record), key };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of your API keys, on every instance within a second' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblems('validation_failed', 'not_found')
  async revoke(
    @CurrentActor() actor: Actor,
    @Param('id', ResourceIdPipe) id: string,
    @NoBody() _body: void,
  ): Promise<void> {
    await this.apiKeys.revoke(actor, id);
  }
}
