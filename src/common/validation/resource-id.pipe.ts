import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiException } from '../errors/api-exception';
import { NO_SUCH_RESOURCE } from '../errors/error-codes';
import { isUuid } from '../uuid';

/**
 * An `:id` path parameter. Ids are UUIDs; anything else names no resource, so it is 404 like an
 * unknown id (and never reaches the database, which would reject it as malformed input).
 */
@Injectable()
export class ResourceIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw new ApiException('not_found', { detail: NO_SUCH_RESOURCE });
    return value.toLowerCase();
  }
}
