// valet/auth.config.ts: which sign-in providers' tokens the app trusts, in Convex's shape, several
// at once. `export default { providers: [...] } satisfies AuthConfig`.

/**
 * An OpenID Connect issuer: tokens whose `iss` is `domain` and whose `aud` is `applicationID`,
 * signed with a key from the JWKS its discovery document (`<domain>/.well-known/openid-configuration`)
 * names. Clerk, Auth0, Google, WorkOS, Valet's own `valet/auth` all publish one.
 */
export interface OidcAuthProvider {
  domain: string;
  applicationID: string;
}

/** A JWT issuer without discovery: its JWKS at a URL (or a `data:` URI), one algorithm. */
export interface CustomJwtAuthProvider {
  type: 'customJwt';
  issuer: string;
  jwks: string;
  algorithm: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';
  /** The `aud` tokens must carry; unchecked when absent. */
  applicationID?: string;
}

export type AuthProvider = OidcAuthProvider | CustomJwtAuthProvider;

export interface AuthConfig {
  providers: AuthProvider[];
}

/** valet/auth.config.ts's module path in the app's bundle (a config, not a function module). */
export const AUTH_CONFIG_MODULE = 'auth.config';
