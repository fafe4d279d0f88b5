import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiException, unknownField } from '../errors/api-exception';

/**
 * Holds a route that takes no request body (logout-all, the DELETEs) to the contract's rule for
 * every endpoint: none, or an empty JSON object, is fine; a field is one the endpoint does not
 * know (400 validation_failed listing it), and anything but an object is not a body it takes.
 * A parameter of its own rather than a @Body() schema, so the OpenAPI document shows no body.
 */
export const NoBody = createParamDecorator((_data: unknown, context: ExecutionContext): void => {
  const { body } = context.switchToHttp().getRequest<{ body?: unknown }>();
  if (body === undefined) return;
  const fields =
    typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : null;
  if (fields?.length === 0) return;
  throw new ApiException('validation_failed', {
    detail: 'This endpoint takes no request body',
    errors: fields
      ? fields.map(unknownField)
      : [{ field: '', message: 'must be absent or an empty object' }],
  });
});
