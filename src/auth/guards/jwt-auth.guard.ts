import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { TokenExpiredError } from 'jsonwebtoken';
import { AUTH_OPTIONAL } from '../../common/decorators/optional-auth.decorator';
import { IS_PUBLIC } from '../../common/decorators/public.decorator';
import { ApiException } from '../../common/errors/api-exception';
import type { Principal } from '../../common/principal';

/**
 * The global guard: every route needs a valid access token unless it is marked @Public() (or
 * @OptionalAuth() and called without an Authorization header). Any
 * token problem is the same 401 invalid_token (the detail says when it merely expired); a failure
 * of ours, such as the database being away, is not a token problem and keeps its own answer.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const optional = this.reflector.getAllAndOverride<boolean>(AUTH_OPTIONAL, targets);
    const { headers } = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (optional && headers.authorization === undefined) return true;
    return super.canActivate(context);
  }

  override handleRequest<T = Principal>(error: unknown, principal: T | false, info: unknown): T {
    // A failure of ours (the database being away) keeps its own answer (503), not a 401.
    if (error instanceof Error) throw error;
    if (error) throw new Error('authentication failed unexpectedly');
    if (principal) return principal;
    throw new ApiException('invalid_token', {
      detail:
        info instanceof TokenExpiredError
          ? 'The access token has expired'
          : 'A valid access token is required (Authorization: Bearer <token>)',
    });
  }
}
