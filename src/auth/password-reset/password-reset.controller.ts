import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client, type ClientInfo } from '../../common/client-info';
import { Public } from '../../common/decorators/public.decorator';
import { ApiProblems } from '../../common/openapi/api-problems.decorator';
import {
  PasswordResetConfirmSchema,
  PasswordResetRequestSchema,
  type PasswordResetConfirm,
  type PasswordResetRequest,
} from './password-reset.dto';
import { LimitPerIp } from '../../throttling/ip-rate-limit.guard';
import { PasswordResetService, RESET_LIMITS } from './password-reset.service';

@ApiTags('auth')
@Public()
@Controller('auth/password-reset')
export class PasswordResetController {
  constructor(private readonly reset: PasswordResetService) {}

  @Post('request')
  @LimitPerIp()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Email a password-reset link',
    description:
      'Always 202 with an empty body, in the same time, whether or not an account has this ' +
      'email: the mail (a link `${PASSWORD_RESET_URL}?token=<token>`, valid ' +
      'PASSWORD_RESET_TTL_SECONDS, single use) is sent afterwards, to an active account only. ' +
      `At most ${RESET_LIMITS.perEmail.points} requests per email and ` +
      `${RESET_LIMITS.perIp.points} per client IP an hour (429 with Retry-After).`,
  })
  @ApiAcceptedResponse({ description: 'Accepted; a link is mailed if the account exists' })
  @ApiProblems('validation_failed', 'too_many_attempts')
  async request(
    @Body({ schema: PasswordResetRequestSchema }) body: PasswordResetRequest,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.reset.request(body.email, client);
  }

  @Post('confirm')
  @LimitPerIp()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Set a new password with the token from the link',
    description:
      'Spends the token and revokes every session and every API key of the user. A token that ' +
      'is unknown, expired, already used, replaced by a newer request or older than a password ' +
      'change is 400 invalid_token.',
  })
  @ApiNoContentResponse({
    description: 'The password is changed; every session and API key is revoked',
  })
  @ApiProblems('validation_failed', [400, 'invalid_token'], 'weak_password', 'too_many_attempts')
  async confirm(
    @Body({ schema: PasswordResetConfirmSchema }) body: PasswordResetConfirm,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.reset.confirm(body.token, body.newPassword, client);
  }
}
