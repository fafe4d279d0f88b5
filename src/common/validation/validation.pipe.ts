import { StandardSchemaValidationPipe } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ApiException, type FieldError } from '../errors/api-exception';

function fieldErrors(issue: StandardSchemaV1.Issue): FieldError[] {
  const field = (issue.path ?? [])
    .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
    .join('.');
  // zod reports unknown fields as one issue on the object; list each field instead.
  const unknown = (issue as { code?: string; keys?: string[] }).keys;
  if ((issue as { code?: string }).code === 'unrecognized_keys' && unknown) {
    return unknown.map((key) => ({
      field: field ? `${field}.${key}` : key,
      message: 'is not a known field',
    }));
  }
  return [{ field, message: issue.message }];
}

/**
 * Validates every @Body/@Query/@Param that declares a schema (zod, as a Standard Schema) and
 * turns failures into 400 validation_failed listing the fields.
 */
export function createValidationPipe(): StandardSchemaValidationPipe {
  return new StandardSchemaValidationPipe({
    exceptionFactory: (issues) =>
      new ApiException('validation_failed', {
        detail: 'The request is not valid; see errors',
        errors: issues.flatMap(fieldErrors),
      }),
  });
}
