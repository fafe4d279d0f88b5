import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Client, type ClientInfo } from '../common/client-info';
import { CurrentActor, type Actor } from '../common/decorators/actor.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { OptionalAuth } from '../common/decorators/optional-auth.decorator';
import { Public } from '../common/decorators/public.decorator';
import { ApiProblems } from '../common/openapi/api-problems.decorator';
import type { Principal } from '../common/principal';
import { toUserResponse, UserResponseSchema, type UserResponse } from '../users/dto/user.response';
import { LimitPerIp } from '../throttling/ip-rate-limit.guard';
import { AuthService } from './auth.service';
import {
  LoginSchema,
  LogoutSchema,
  RefreshSchema,
  SignupSchema,
  type LoginRequest,
  type LogoutRequest,
  type RefreshRequest,
  type SignupRequest,
} from './dto/auth-requests';
import { TokenPairSchema, type TokenPair } from './dto/auth-responses';
import { NoBody } from '../common/decorators/no-body.decorator';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @LimitPerIp()
  @ApiOperation({ summary: 'Create an account' })
  @ApiCreatedResponse({ standardSchema: UserResponseSchema })
  @ApiProblems(
    'validation_failed',
    'weak_password',
    'signup_disabled',
    'email_taken',
    'too_many_attempts',
  )
  async signup(
    @Body({ schema: SignupSchema }) body: SignupRequest,
    @Client() client: ClientInfo,
  ): Promise<UserResponse> {
    return toUserResponse(await this.auth.signup(body, client));
  }

  @Public()
  @Post('login')
  @LimitPerIp()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Log in: a new session, with an access token and a refresh token',
    description:
      'An unknown email and a wrong password get the same 401 invalid_credentials, in the same ' +
      'time. account_disabled is answered only after a correct password. 429 too_many_attempts: ' +
      "the client's per-IP budget is spent; or the email is locked after LOGIN_MAX_FAILURES " +
      'consecutive failures (30 s, doubling with each further failure, up to 15 minutes; ' +
      'Retry-After says when it ends; a client that logged in to it in the last 30 days is then ' +
      'judged on failures of its own, so that guessing elsewhere cannot lock the user out); ' +
      'or more logins to the email arrived at once than its checks in progress let through ' +
      'within 1.5 s, or than may wait for them (64 per instance) (Retry-After: 1).',
  })
  @ApiOkResponse({ standardSchema: TokenPairSchema })
  @ApiProblems('validation_failed', 'invalid_credentials', 'account_disabled', 'too_many_attempts')
  login(
    @Body({ schema: LoginSchema }) body: LoginRequest,
    @Client() client: ClientInfo,
  ): Promise<TokenPair> {
    return this.auth.login(body.email, body.password, client);
  }

  @Public()
  @Post('refresh')
  @LimitPerIp()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair (the token presented is spent)',
    description:
      'The token spent last, presented again within REFRESH_REUSE_GRACE_SECONDS, yields the same ' +
      'successor. A spent token after that, or any older one, revokes the whole session ' +
      '(refresh_token_reused). Any other unusable token is invalid_refresh_token and revokes nothing.',
  })
  @ApiOkResponse({ standardSchema: TokenPairSchema })
  @ApiProblems(
    'validation_failed',
    'invalid_refresh_token',
    'refresh_token_reused',
    'too_many_attempts',
  )
  refresh(
    @Body({ schema: RefreshSchema }) body: RefreshRequest,
    @Client() client: ClientInfo,
  ): Promise<TokenPair> {
    return this.auth.refresh(body.refreshToken, client);
  }

  @OptionalAuth()
  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiSecurity({}) // or no credentials at all, with a refresh token in the body
  @ApiOperation({
    summary: 'End a session: the bearer token’s, or the one a refresh token in the body belongs to',
    description:
      'With a valid bearer token, its session ends and a refresh token in the body is not read. ' +
      'A bearer token that is not valid (expired, say) counts as none, so a client can log out ' +
      'with its refresh token while it still sends the old access token. API keys are not read.',
  })
  @ApiNoContentResponse({ description: 'The session is revoked' })
  // Optional: a bearer token's holder sends none (or an empty one, or `{}`).
  @ApiBody({ required: false, schema: { $ref: '#/components/schemas/LogoutRequest' } })
  @ApiProblems('validation_failed', 'invalid_token', 'invalid_refresh_token')
  async logout(
    @CurrentUser() principal: Principal | undefined,
    @Body({ schema: LogoutSchema }) body: LogoutRequest,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const actor = principal && {
      userId: principal.user.id,
      sessionId: principal.sessionId,
      client,
    };
    await this.auth.logout(actor, body?.refreshToken, client);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'End every session of the current user' })
  @ApiNoContentResponse({ description: 'All sessions are revoked' })
  @ApiProblems('validation_failed', 'invalid_token')
  async logoutAll(@CurrentActor() actor: Actor, @NoBody() _body: void): Promise<void> {
    await this.auth.logoutAll(actor);
  }
}
