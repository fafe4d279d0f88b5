import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiProblem } from '../openapi/api-problems.decorator';

export const REQUIRES_SUPERUSER = 'auth:superuser';

/** Why such a route answers 403, for its documentation. */
export const SUPERUSERS_ONLY = 'the caller is not a superuser (an API key never acts as one)';

/** Only a superuser (as the database says now, not as a token said) may call the route. */
export const RequireSuperuser = () =>
  applyDecorators(
    SetMetadata(REQUIRES_SUPERUSER, true),
    ApiProblem(403, ['forbidden'], SUPERUSERS_ONLY),
  );
