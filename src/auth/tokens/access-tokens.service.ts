import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../../config/app-config';
import { JwtKeys } from './jwt-keys';

/** The claims besides the registered ones (sub, jti, iat, exp, iss, aud). */
export interface AccessTokenClaims {
  sid: string;
  roles: string[];
}

export interface AccessTokenPayload extends AccessTokenClaims {
  sub: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

/** Signs access tokens: JWTs with `kid`, through @nestjs/jwt, with the KeyObject from JwtKeys. */
@Injectable()
export class AccessTokens {
  readonly ttlSeconds: number;
  private readonly issuer: string;
  private readonly audience: string;

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: JwtKeys,
    config: AppConfig,
  ) {
    this.ttlSeconds = config.jwt.accessTokenTtlSeconds;
    this.issuer = config.jwt.issuer;
    this.audience = config.jwt.audience;
  }

  /**
   * An access token for the session, and how long it lasts: ACCESS_TOKEN_TTL_SECONDS, or what is
   * left of the session if that is less (a token never outlives its session, nor says it does).
   */
  sign(
    userId: string,
    claims: AccessTokenClaims,
    sessionExpiresAt: Date,
  ): { token: string; expiresIn: number } {
    const sessionLeft = Math.floor((sessionExpiresAt.getTime() - Date.now()) / 1000);
    const expiresIn = Math.max(1, Math.min(this.ttlSeconds, sessionLeft));
    const token = this.jwt.sign(
      { sid: claims.sid, roles: claims.roles },
      {
        privateKey: this.keys.signingKey,
        algorithm: this.keys.algorithm,
        keyid: this.keys.currentKid,
        subject: userId,
        jwtid: randomUUID(),
        expiresIn,
        issuer: this.issuer,
        audience: this.audience,
      },
    );
    return { token, expiresIn };
  }
}
