import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { LRUCache } from 'lru-cache';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { jsonShapeProblem } from '../../common/http/json-body';
import type { Principal } from '../../common/principal';
import { isUuid } from '../../common/uuid';
import { AppConfig } from '../../config/app-config';
import { AuthStateCache } from '../principal/auth-state.cache';
import type { UserRecord } from '../../users/user.record';
import type { SessionState } from '../sessions/sessions.repository';
import type { AccessTokenPayload } from '../tokens/access-tokens.service';
import { JwtKeys } from '../tokens/jwt-keys';

/** Our tokens are well under 1 KiB; a longer bearer value is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096;

/** How far in the future an `iat` may be (clocks of instances differ a little). */
const CLOCK_SKEW_MS = 60_000;

/** How many verified tokens are remembered (a few hundred bytes each). */
const VERIFIED_TOKENS = 20_000;

const bearer = ExtractJwt.fromAuthHeaderAsBearerToken();

function extractToken(request: Parameters<typeof bearer>[0]): string | null {
  const token = bearer(request);
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

function decodeHeader(token: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(
      Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'),
    );
    return typeof header === 'object' && header !== null
      ? (header as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the token's header or payload is JSON we refuse: not an object, malformed, too deep,
 * or with a duplicated member (`{"sub":"a","sub":"b"}`), which parsers resolve differently.
 */
function hasAmbiguousJson(token: string): boolean {
  const [header, payload] = token.split('.', 2);
  try {
    return [header, payload].some((part) => {
      const text = Buffer.from(part ?? '', 'base64url').toString('utf8');
      return !text.trimStart().startsWith('{') || jsonShapeProblem(text) !== undefined;
    });
  } catch {
    return true;
  }
}

interface VerifiedToken {
  payload: AccessTokenPayload;
  /** Epoch ms after which the token is no longer valid (its exp, or its maximum age). */
  validUntil: number;
}

type Request = Parameters<Strategy['authenticate']>[0];

/**
 * Verifies access tokens (passport-jwt over jsonwebtoken): the signature under the key its `kid`
 * names (only ours: nothing is ever fetched from jku/x5u/jwk headers), the configured algorithm and
 * nothing else, `iss`, `aud`, `exp` and `nbf`. Then the token's session must be live and its user
 * exist and be active, read from AuthStateCache, so revocation takes effect at once.
 *
 * A token that verified is remembered, by its exact text, until it expires: a client sends the
 * same token with every request for its whole lifetime, and its signature and claims cannot change
 * in that time, so they are checked once instead of per request. Session and user are still
 * checked on every request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_TOKENS });
  private readonly maxAgeMs: number;

  constructor(
    keys: JwtKeys,
    config: AppConfig,
    private readonly state: AuthStateCache,
  ) {
    super({
      jwtFromRequest: extractToken,
      secretOrKeyProvider: (
        _request: unknown,
        token: string,
        done: (error: Error | null, key?: string | Buffer) => void,
      ) => {
        const header = decodeHeader(token);
        // `crit` names extensions a verifier must understand (RFC 7515); we understand none.
        const key =
          header && !('crit' in header) && !hasAmbiguousJson(token)
            ? keys.verificationKey(header.kid)
            : undefined;
        // passport-jwt hands the key to jsonwebtoken.verify, which takes a KeyObject; its types
        // only predate that.
        if (key) done(null, key as unknown as Buffer);
        else done(new Error('unknown signing key'));
      },
      algorithms: [keys.algorithm],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      // No token outlives its lifetime from issue, even if its `exp` said otherwise.
      jsonWebTokenOptions: { maxAge: config.jwt.accessTokenTtlSeconds },
      passReqToCallback: true,
    });
    this.maxAgeMs = config.jwt.accessTokenTtlSeconds * 1000;
  }

  /** passport-jwt's verification, skipped for a token already verified and not yet expired. */
  override authenticate(request: Request, options?: object): void {
    const token = extractToken(request);
    const known = token ? this.verified.get(token) : undefined;
    if (!known || known.validUntil <= Date.now()) {
      super.authenticate(request, options);
      return;
    }
    const settle = (principal: Principal | null) =>
      principal ? this.success(principal) : this.fail(undefined as never);
    // With session and user cached, the whole check is synchronous (no promise per request).
    const cached = this.cachedPrincipal(known.payload);
    if (cached !== undefined) settle(cached);
    else this.principalFor(known.payload).then(settle, (error: Error) => this.error(error));
  }

  /** Called by passport-jwt with a payload whose signature and claims it has just verified. */
  async validate(request: Request, payload: AccessTokenPayload): Promise<Principal | null> {
    if (typeof payload !== 'object' || payload === null) return null;
    const { exp, iat } = payload;
    // Our tokens always carry both, issued now (give or take clock skew between instances) and
    // expiring one lifetime later; anything else was not issued by us, whatever its signature.
    if (typeof exp !== 'number' || typeof iat !== 'number') return null;
    if (iat * 1000 > Date.now() + CLOCK_SKEW_MS || (exp - iat) * 1000 > this.maxAgeMs) return null;
    const token = extractToken(request);
    if (token) {
      this.verified.set(token, {
        payload,
        validUntil: Math.min(exp * 1000, iat * 1000 + this.maxAgeMs),
      });
    }
    return this.principalFor(payload);
  }

  private async principalFor(payload: AccessTokenPayload): Promise<Principal | null> {
    const { sub, sid, roles } = payload;
    if (!isUuid(sub) || !isUuid(sid) || !Array.isArray(roles)) return null;
    const [session, user] = await Promise.all([this.state.session(sid), this.state.user(sub)]);
    return principal(payload, session, user);
  }

  /** The principal from cached state alone; undefined when something is not cached. */
  private cachedPrincipal(payload: AccessTokenPayload): Principal | null | undefined {
    const session = this.state.cachedSession(payload.sid);
    const user = session === undefined ? undefined : this.state.cachedUser(payload.sub);
    return user === undefined ? undefined : principal(payload, session!, user);
  }
}

/** The request's principal, if the token's session is live and its user exists and is active. */
function principal(
  { sub, sid, roles }: AccessTokenPayload,
  session: SessionState | null,
  user: UserRecord | null,
): Principal | null {
  if (
    !session ||
    session.revoked ||
    session.userId !== sub ||
    session.expiresAt.getTime() <= Date.now()
  ) {
    return null;
  }
  if (!user || !user.isActive) return null;
  return {
    user,
    sessionId: sid,
    roles: roles.filter((role) => user.roles.includes(role)),
    isSuperuser: user.isSuperuser,
  };
}
