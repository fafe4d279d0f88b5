import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenExpiredError } from 'jsonwebtoken';
import passport from 'passport';
import { AUTH_OPTIONAL } from '../../common/decorators/optional-auth.decorator';
import { IS_PUBLIC } from '../../common/decorators/public.decorator';
import { ApiException } from '../../common/errors/api-exception';
import type { Principal } from '../../common/principal';
import { JwtStrategy } from '../strategies/jwt.strategy';

interface AuthenticatedRequest {
  headers: Record<string, unknown>;
  user?: Principal;
}

/**
 * The global guard: every route needs a valid access token unless it is marked @Public() (or
 * @OptionalAuth() and called without an Authorization header). Any token problem is the same 401
 * invalid_token (the detail says when it merely expired); a failure of ours, such as the database
 * being away, is not a token problem and keeps its own answer (503).
 *
 * It runs passport with this application's JwtStrategy instance rather than by name: passport's
 * registry is process-wide, so by name a second application in the process (a test's second
 * instance) would answer for the first. As passport does for named strategies, each request gets
 * its own object derived from the strategy, which passport then binds to that request.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const optional = this.reflector.getAllAndOverride<boolean>(AUTH_OPTIONAL, targets);
    if (optional && request.headers.authorization === undefined) return true;
    request.user = await this.authenticate(request, http.getResponse());
    return true;
  }

  private authenticate(request: AuthenticatedRequest, response: unknown): Promise<Principal> {
    return new Promise((resolve, reject) => {
      const strategy = Object.create(this.strategy) as JwtStrategy;
      const fail = (error: unknown) =>
        reject(error instanceof Error ? error : new Error('authentication failed'));
      const middleware = passport.authenticate(
        strategy,
        { session: false },
        (error: unknown, user: unknown, info: unknown) => {
          if (error) fail(error);
          else if (user) resolve(user as Principal);
          else {
            reject(
              new ApiException('invalid_token', {
                detail:
                  info instanceof TokenExpiredError
                    ? 'The access token has expired'
                    : 'A valid access token is required (Authorization: Bearer <token>)',
              }),
            );
          }
        },
      ) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
      middleware(request, response, fail);
    });
  }
}
