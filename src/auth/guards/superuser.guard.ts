import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { REQUIRES_SUPERUSER } from '../../common/decorators/require-superuser.decorator';
import { ApiException } from '../../common/errors/api-exception';
import type { Principal } from '../../common/principal';

/** Enforces @RequireSuperuser() with the user's current state, after authentication. */
@Injectable()
export class SuperuserGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<boolean>(REQUIRES_SUPERUSER, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required) return true;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (principal?.isSuperuser) return true;
    throw new ApiException('forbidden', { detail: 'Only a superuser may do this' });
  }
}
