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

  sign(userId: string, claims: AccessTokenClaims): string {
    return this.jwt.sign(
      { sid: claims.sid, roles: claims.roles },
      {
        privateKey: this.keys.signingKey,
        algorithm: this.keys.algorithm,
        keyid: this.keys.currentKid,
        subject: userId,
        jwtid: randomUUID(),
        expiresIn: this.ttlSeconds,
        issuer: this.issuer,
        audience: this.audience,
      },
    );
  }
}
