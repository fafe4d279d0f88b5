import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '../../common/decorators/public.decorator';
import { WithoutDatabase } from '../../common/openapi/shared-problems';
import { JwtKeys, type PublicJwk } from './jwt-keys';

const JwksSchema = z
  .object({
    keys: z.array(
      z.looseObject({ kid: z.string(), kty: z.string(), alg: z.string(), use: z.literal('sig') }),
    ),
  })
  .meta({ id: 'Jwks' });

@ApiTags('discovery')
@Public()
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: JwtKeys) {}

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Public keys a live access token may be signed with (RFC 7517); empty for HS256',
  })
  @ApiOkResponse({ standardSchema: JwksSchema })
  @WithoutDatabase()
  jwks(): { keys: PublicJwk[] } {
    return this.keys.jwks();
  }
}
