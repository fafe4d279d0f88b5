import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';

export const REQUIRES_SUPERUSER = 'auth:superuser';

/** Only a superuser (as the database says now, not as a token said) may call the route. */
export const RequireSuperuser = () =>
  applyDecorators(
    SetMetadata(REQUIRES_SUPERUSER, true),
    ApiForbiddenResponse({ description: '`forbidden`: the caller is not a superuser' }),
  );
