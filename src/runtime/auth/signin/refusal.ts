// What every redirect provider's side of a sign-in (OpenID Connect, GitHub) shares: the person it
// vouches for, and a refusal that names the word sent back to the app's page.
export type GuardedFetch = (url: string, init: RequestInit) => Promise<Response>;

/** What a provider says about the person, as valet/auth keeps it. */
export interface OidcProfile {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  picture: string | null;
}

/** Why a callback was refused: the word sent back to the app's page (`?error=`) and the reason logged. */
export class OidcRefusal extends Error {
  constructor(
    readonly error: 'invalid_id_token' | 'provider_error' | 'provider_unavailable',
    message: string,
  ) {
    super(message);
  }
}
