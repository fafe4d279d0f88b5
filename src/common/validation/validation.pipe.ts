import { StandardSchemaValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { z } from 'zod';
import { ApiException, unknownField, type FieldError } from '../errors/api-exception';
import { NO_SUCH_RESOURCE } from '../errors/error-codes';
import { opaqueCredentials } from './fields';

function fieldErrors(issue: StandardSchemaV1.Issue): FieldError[] {
  const field = (issue.path ?? [])
    .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
    .join('.');
  // zod reports unknown fields as one issue on the object; list each field instead.
  const unknown = (issue as { code?: string; keys?: string[] }).keys;
  if ((issue as { code?: string }).code === 'unrecognized_keys' && unknown) {
    return unknown.map((key) => unknownField(field ? `${field}.${key}` : key));
  }
  return [{ field, message: issue.message }];
}

const NO_FIELDS: ReadonlySet<string> = new Set();

/**
 * The strings anywhere in `value` that PostgreSQL could not store or that are not text at all:
 * those holding a NUL, and those that are not well-formed UTF-16 (a lone surrogate), but for the
 * top-level fields named in `opaque` (see opaqueCredentials). Walked with an explicit stack, so a
 * deeply nested body cannot overflow the call stack.
 */
export function malformedStrings(
  value: unknown,
  opaque: ReadonlySet<string> = NO_FIELDS,
): FieldError[] {
  const found: FieldError[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length && found.length < 20) {
    const [current, path] = stack.pop()!;
    if (opaque.has(path)) continue;
    if (typeof current === 'string') {
      if (current.includes('\0')) found.push({ field: path, message: 'must not contain NUL' });
      else if (!current.isWellFormed()) {
        found.push({ field: path, message: 'must be well-formed Unicode' });
      }
    } else if (current && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        if (!key.isWellFormed() || key.includes('\0')) {
          found.push({ field: path, message: 'has a malformed key' });
        }
        stack.push([child, path ? `${path}.${key}` : key]);
      }
    }
  }
  return found;
}

const opaqueFieldsBySchema = new WeakMap<object, ReadonlySet<string>>();

/** The top-level fields of an object schema (optional or not) that hold opaque credentials. */
function opaqueFields(schema: StandardSchemaV1 | undefined): ReadonlySet<string> {
  if (!schema) return NO_FIELDS;
  let fields = opaqueFieldsBySchema.get(schema);
  if (!fields) {
    const object = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
    const found = new Set<string>();
    if (object instanceof z.ZodObject) {
      const shape: unknown = object.shape;
      for (const [key, field] of Object.entries(shape as Record<string, unknown>)) {
        const inner: unknown = field instanceof z.ZodOptional ? field.unwrap() : field;
        if (inner instanceof z.ZodType && opaqueCredentials.has(inner)) found.add(key);
      }
    }
    fields = found;
    opaqueFieldsBySchema.set(schema, fields);
  }
  return fields;
}

/**
 * Validates every @Body/@Query/@Param: strings first (no NUL, no lone surrogate, in any field,
 * declared or not), then the declared schema (zod, as a Standard Schema). Failures are 400
 * validation_failed listing the fields; in a path parameter, 404 (it names no resource).
 */
class ValidationPipe extends StandardSchemaValidationPipe {
  override async transform<T = unknown>(value: T, metadata: ArgumentMetadata): Promise<T> {
    // Custom parameter decorators (@CurrentUser) carry our own values, not the client's.
    const malformed =
      metadata.type === 'custom' ? [] : malformedStrings(value, opaqueFields(metadata.schema));
    // A path that cannot name a resource names none: 404, as for an id that is not a UUID.
    if (malformed.length && metadata.type === 'param') {
      throw new ApiException('not_found', { detail: NO_SUCH_RESOURCE });
    }
    if (malformed.length) {
      throw new ApiException('validation_failed', {
        detail: 'The request is not valid; see errors',
        errors: malformed,
      });
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): StandardSchemaValidationPipe {
  return new ValidationPipe({
    exceptionFactory: (issues) =>
      new ApiException('validation_failed', {
        detail: 'The request is not valid; see errors',
        errors: issues.flatMap(fieldErrors),
      }),
  });
}
