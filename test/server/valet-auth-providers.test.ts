// valet/auth's provider descriptions: what OIDC(), Google() and GitHub() accept and refuse when the
// app loads, and what a sign-in says when a secret they read from the environment is unset.
import { describe, expect, it } from 'vitest';
import { matchesRedirectRule } from '../../src/runtime/auth/signin/oauth.js';
import { usableProvider } from '../../src/runtime/auth/signin/oidc-client.js';
import { Email, GitHub, Google, OIDC, Password, valetAuth } from '../../src/server/auth.js';

describe('OIDC(), Google(), GitHub()', () => {
  it('describe their provider, with openid always among the scopes', () => {
    expect(
      OIDC({ id: 'okta', issuer: 'https://example.okta.com/', clientId: 'a', clientSecret: 'b', scopes: ['email'] }),
    ).toMatchObject({
      id: 'okta',
      type: 'oidc',
      issuer: 'https://example.okta.com',
      scopes: ['openid', 'email'],
      name: 'okta',
    });
    expect(Google({ clientId: 'a', clientSecret: 'b' })).toMatchObject({
      id: 'google',
      issuer: 'https://accounts.google.com',
      name: 'Google',
    });
    expect(GitHub({ clientId: 'a', clientSecret: 'b' })).toMatchObject({
      issuer: 'https://github.com',
      apiUrl: 'https://api.github.com',
    });
    expect(GitHub({ clientId: 'a', clientSecret: 'b', enterpriseUrl: 'https://git.example.com/' })).toMatchObject({
      issuer: 'https://git.example.com',
      apiUrl: 'https://git.example.com/api/v3',
    });
  });

  it('refuse a bad id, a taken one, and a provider given twice', () => {
    expect(() => OIDC({ id: 'Okta SSO', issuer: 'https://x', clientId: 'a', clientSecret: 'b' })).toThrow(/lower-case/);
    expect(() => OIDC({ id: 'password', issuer: 'https://x', clientId: 'a', clientSecret: 'b' })).toThrow(/taken/);
    expect(() =>
      valetAuth({
        providers: [
          Password(),
          Google({ clientId: 'a', clientSecret: 'b' }),
          Google({ clientId: 'c', clientSecret: 'd' }),
        ],
      }),
    ).toThrow(/"google" is given twice/);
    expect(() => valetAuth({ providers: [Email()], redirects: ['not a url'] })).toThrow(/redirects\[0\]/);
  });

  it('load with a secret unset, and say which one when someone signs in', () => {
    const google = Google({ clientId: 'a', clientSecret: undefined });
    expect(() => valetAuth({ providers: [google] })).not.toThrow();
    expect(() => usableProvider(google)).toThrow(/"google" has no clientSecret/);
    expect(() =>
      usableProvider(OIDC({ id: 'x', issuer: 'http://idp.example.com', clientId: 'a', clientSecret: 'b' })),
    ).toThrow(/https:\/\/ URL \(http:\/\/ only on localhost\)/);
    expect(
      usableProvider(OIDC({ id: 'x', issuer: 'http://127.0.0.1:9000', clientId: 'a', clientSecret: 'b' })),
    ).toEqual({
      clientId: 'a',
      clientSecret: 'b',
    });
  });
});

describe('valetAuth({ redirects })', () => {
  const rules = valetAuth({
    providers: [Email()],
    redirects: ['https://app.example.com', 'https://x.example.com/app'],
  }).redirects;

  it('allows an origin, or pages under a path prefix', () => {
    expect(rules).toEqual(['https://app.example.com', 'https://x.example.com/app/']);
    const allowed = (url: string) => matchesRedirectRule(new URL(url), rules);
    expect(allowed('https://app.example.com/any/page?x=1')).toBe(true);
    expect(allowed('https://x.example.com/app/')).toBe(true);
    expect(allowed('https://x.example.com/app/deep')).toBe(true);
    expect(allowed('https://x.example.com/application')).toBe(false);
    expect(allowed('https://x.example.com/')).toBe(false);
    expect(allowed('http://app.example.com/')).toBe(false);
    expect(allowed('https://app.example.com.evil.example/')).toBe(false);
  });
});
