import { parse as parseJsonAst } from '@humanwhocodes/momoa';
import { errorCodes, type FastifyInstance } from 'fastify';
import { ApiException } from '../errors/api-exception';
import { decodeUtf8 } from '../utf8';

/** No request of ours nests deeper; deeper JSON is an attack on parsers, not a request. */
export const MAX_JSON_DEPTH = 32;

type AstNode = { type: string } & Record<string, unknown>;

/** How deeply `text` (valid JSON) nests, counted up to `limit + 1`. */
function depthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** The first key that appears twice in one object of `text` (valid JSON), if any. */
function duplicateKey(text: string): string | undefined {
  // momoa keeps every member, where JSON.parse keeps only the last of a duplicated key.
  const stack: AstNode[] = [parseJsonAst(text).body as unknown as AstNode];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.type === 'Object') {
      const seen = new Set<string>();
      for (const member of node.members as { name: { value: string }; value: AstNode }[]) {
        if (seen.has(member.name.value)) return member.name.value;
        seen.add(member.name.value);
        stack.push(member.value);
      }
    } else if (node.type === 'Array') {
      for (const element of node.elements as { value: AstNode }[]) stack.push(element.value);
    }
  }
  return undefined;
}

/**
 * Why a valid JSON text is still refused: nested deeper than MAX_JSON_DEPTH, or an object with
 * a duplicated key (parsers disagree on which value wins, and a check on one value with a use of
 * the other is a classic bypass). Undefined when it is acceptable.
 */
export function jsonShapeProblem(text: string): string | undefined {
  if (depthExceeds(text, MAX_JSON_DEPTH)) {
    return `The JSON is nested deeper than ${MAX_JSON_DEPTH} levels`;
  }
  const duplicate = duplicateKey(text);
  return duplicate === undefined ? undefined : `The JSON has the key "${duplicate}" more than once`;
}

/** A Content-Type parameter (RFC 9110): a name, then a token or a whole quoted string. */
const PARAMETER = /;\s*([!#$%&'*+.^_`|~\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
/** UTF-8, and ASCII, which is UTF-8 too. */
const ACCEPTED_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** The charset parameter, lower-cased and unquoted; undefined when there is none. */
function charsetOf(contentType: string): string | undefined {
  for (const [, name, value] of contentType.matchAll(PARAMETER)) {
    if (name.toLowerCase() !== 'charset') continue;
    const unquoted = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
    return unquoted.toLowerCase();
  }
  return undefined;
}

/**
 * JSON is UTF-8 (RFC 8259); a body declared in another charset would be read as UTF-8 all the
 * same, and stored garbled, so it is refused. Undefined when acceptable.
 */
function charsetProblem(contentType: string | undefined): ApiException | undefined {
  const charset = contentType === undefined ? undefined : charsetOf(contentType);
  if (charset === undefined || ACCEPTED_CHARSETS.has(charset)) return undefined;
  return new ApiException('unsupported_media_type', {
    detail: 'Send the request body as application/json in UTF-8 (charset=utf-8, or none)',
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Valid JSON that Fastify's parser refused: it refuses only these keys (prototype pollution). */
const forbiddenKey = () =>
  new ApiException('validation_failed', {
    detail: 'A "__proto__" key, or a "constructor" key holding "prototype", is not accepted',
  });

/**
 * Request bodies: UTF-8 only (a body that is not valid UTF-8, or declares another charset, is
 * refused rather than stored with replacement characters), Fastify's own JSON parser (which
 * refuses __proto__ and constructor.prototype keys), then jsonShapeProblem, as 400
 * validation_failed.
 *
 * Bodies of any other type are 415.
 *
 * An empty body is no body, whatever the Content-Type says: many HTTP clients send
 * `Content-Type: application/json` on every request, also on a logout or a DELETE that takes
 * none, and others send their default type with an empty body (`text/plain` from fetch,
 * `application/x-www-form-urlencoded` from curl -d ''). Where a route needs a body, its schema
 * answers 400 validation_failed as for any other missing body.
 */
export function useStrictJsonBodies(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  // Read (within the body limit: beyond it, 413) to know whether it is empty, however it was
  // sent. An unknown route is 404 whatever its body, as it is when no parser matches.
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, raw, done) => {
    if (request.is404 || (raw as Buffer).length === 0) return done(null, undefined);
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type']));
  });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const bytes = raw as Buffer;
    if (request.is404 || bytes.length === 0) return done(null, undefined);
    const unsupported = charsetProblem(request.headers['content-type']);
    if (unsupported) return done(unsupported, undefined);
    const body = decodeUtf8(bytes);
    if (body === undefined) {
      const detail = 'The body is not valid UTF-8';
      return done(new ApiException('validation_failed', { detail }), undefined);
    }
    void parse(request, body, (error, value) => {
      if (error) return done(isJson(body) ? forbiddenKey() : error, undefined);
      const problem = jsonShapeProblem(body);
      if (problem)
        return done(new ApiException('validation_failed', { detail: problem }), undefined);
      done(null, value);
    });
  });
}
