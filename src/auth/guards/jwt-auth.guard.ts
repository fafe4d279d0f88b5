import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenExpiredError } from 'jsonwebtoken';
import { AUTH_OPTIONAL } from '../../common/decorators/optional-auth.decorator';
import { IS_PUBLIC } from '../../common/decorators/public.decorator';
import { SCOPES } from '../../common/decorators/scopes.decorator';
import { REQUIRES_SUPERUSER } from '../../common/decorators/require-superuser.decorator';
import { ApiException } from '../../common/errors/api-exception';
import { unreadApiKeys } from '../../common/errors/challenge';
import type { Principal } from '../../common/principal';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { JwtStrategy } from '../strategies/jwt.strategy';

interface AuthenticatedRequest {
  headers: Record<string, unknown>;
  user?: Principal;
}

/** What a route asks of its caller, from its decorators (read once per route). */
interface RoutePolicy {
  isPublic: boolean;
  optional: boolean;
  superuser: boolean;
  /** Set when the route accepts an API key with these scopes (@Scopes). */
  scopes: readonly string[] | undefined;
}

/**
 * The global guard: every route needs a valid access token unless it is marked @Public() (or
 * @OptionalAuth(), where no token or an unusable one leaves the caller anonymous), and
 * @RequireSuperuser() routes a caller who is a superuser now (not as a token once said). Any
 * token problem is the same 401 invalid_token (the detail says when it merely expired); a failure
 * of ours, such as the database being away, is not a token problem and keeps its own answer (503).
 *
 * A request without an Authorization header may bring an API key (X-API-Key) instead. A wrong,
 * revoked or expired key is 401 invalid_token like a bad token; a good key is 403 forbidden on a
 * route that does not accept keys with its scopes (@Scopes), which is every route by default.
 *
 * The check itself is the passport-jwt strategy, run through passport's strategy protocol: as
 * passport.authenticate() does, each request gets its own object derived from the strategy, given
 * the success/fail/error actions, and `authenticate(request)` is called. Two differences, both
 * deliberate: it is this application's strategy instance, not one looked up by name in passport's
 * process-wide registry (where a second application in the process, a test's second instance,
 * would answer for the first); and passport's middleware wrapper is left out (login sessions,
 * strategy chains, req.logIn: none used here), which costs a quarter of a guarded request's
 * throughput (measured with npm run bench).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly policies = new WeakMap<object, RoutePolicy>();

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.policy(context);
    if (policy.isPublic) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const { authorization, 'x-api-key': apiKey } = request.headers;
    if (authorization === undefined && apiKey !== undefined) {
      // An optional-auth route that takes no keys (logout) serves a key's bearer as anonymous.
      if (policy.optional && policy.scopes === undefined) {
        unreadApiKeys.add(request);
        return true;
      }
      request.user = await this.authenticateApiKey(apiKey, policy);
      return true;
    }
    if (policy.optional && authorization === undefined) return true;
    let principal: Principal;
    try {
      principal = await this.authenticate(request);
    } catch (error) {
      // On an optional-auth route a bad token counts as none: a client whose access token has
      // expired still sends it by habit beside the refresh token it logs out with. The route
      // answers 401 itself when nothing else identifies the caller.
      if (policy.optional && error instanceof ApiException && error.code === 'invalid_token') {
        return true;
      }
      throw error;
    }
    if (policy.superuser && !principal.isSuperuser) {
      throw new ApiException('forbidden', { detail: 'Only a superuser may do this' });
    }
    request.user = principal;
    return true;
  }

  private policy(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (!policy) {
      const targets = [handler, context.getClass()];
      const flag = (key: string) => !!this.reflector.getAllAndOverride<boolean>(key, targets);
      policy = {
        isPublic: flag(IS_PUBLIC),
        optional: flag(AUTH_OPTIONAL),
        superuser: flag(REQUIRES_SUPERUSER),
        scopes: this.reflector.getAllAndOverride<string[] | undefined>(SCOPES, targets),
      };
      this.policies.set(handler, policy);
    }
    return policy;
  }

  private async authenticateApiKey(presented: unknown, policy: RoutePolicy): Promise<Principal> {
    const found = typeof presented === 'string' ? await this.apiKeys.authenticate(presented) : null;
    if (!found) {
      throw new ApiException('invalid_token', { detail: 'The API key is not valid' });
    }
    // Keys never act as a superuser, whoever owns them.
    if (!policy.scopes || policy.superuser) {
      throw new ApiException('forbidden', {
        detail: 'This endpoint does not accept API keys; use an access token',
      });
    }
    const missing = policy.scopes.filter((scope) => !found.scopes.includes(scope));
    if (missing.length) {
      throw new ApiException('forbidden', {
        detail: `This API key lacks the scope ${missing.join(', ')}`,
      });
    }
    return found.principal;
  }

  private authenticate(request: AuthenticatedRequest): Promise<Principal> {
    return new Promise((resolve, reject) => {
      const strategy = Object.create(this.strategy) as JwtStrategy & {
        success(user: unknown): void;
        fail(info?: unknown): void;
        error(error: unknown): void;
        pass(): void;
        redirect(): void;
      };
      strategy.success = (user) => resolve(user as Principal);
      strategy.fail = (info) => reject(invalidToken(info));
      strategy.error = (error) =>
        reject(error instanceof Error ? error : new Error('authentication failed'));
      strategy.pass = () => reject(invalidToken(undefined));
      strategy.redirect = () => reject(invalidToken(undefined));
      // passport-jwt reads only the Authorization header (Fastify's request has it as Express's).
      strategy.authenticate(request as unknown as Parameters<JwtStrategy['authenticate']>[0], {
        session: false,
      });
    });
  }
}

function invalidToken(info: unknown): ApiException {
  return new ApiException('invalid_token', {
    detail:
      info instanceof TokenExpiredError
        ? 'The access token has expired'
        : 'A valid access token is required (Authorization: Bearer <token>)',
  });
}
