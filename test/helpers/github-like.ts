// GitHub's OAuth app endpoints and the two REST endpoints valet/auth reads, as GitHub documents
// them, on loopback at a GitHub Enterprise Server's paths (`/login/oauth/*`, `/api/v3/*`). GitHub
// itself cannot be reached from here, so this is the closest: it checks what GitHub checks (the
// client secret, the redirect URI, the code once, the PKCE verifier) and answers in GitHub's shapes
// (a refused code is 200 with `{ error }`). The person is approved at once (no sign-in page).
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubLike {
  url: string;
  /** Who signs in next, and their emails. */
  user: { id: number; login: string; name: string | null; avatar_url: string };
  emails: { email: string; primary: boolean; verified: boolean }[];
  close(): Promise<void>;
}

export async function startGitHubLike(client: { clientId: string; clientSecret: string }): Promise<GitHubLike> {
  const codes = new Map<string, { redirectUri: string; challenge: string }>();
  const tokens = new Set<string>();
  const state: GitHubLike = {
    url: '',
    user: { id: 583231, login: 'octocat', name: 'The Octocat', avatar_url: 'https://avatars.example.com/u/583231' },
    emails: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', state.url);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      if (url.searchParams.get('client_id') !== client.clientId) return json(res, 404, { error: 'unknown client' });
      const code = randomBytes(10).toString('hex');
      codes.set(code, { redirectUri, challenge: url.searchParams.get('code_challenge') ?? '' });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return res.writeHead(302, { location: back.href }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret)
          return json(res, 200, { error: 'incorrect_client_credentials' });
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!issued || issued.redirectUri !== form.get('redirect_uri') || issued.challenge !== challenge)
          return json(res, 200, { error: 'bad_verification_code' });
        const token = `gho_${randomBytes(18).toString('hex')}`;
        tokens.add(token);
        json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      });
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !tokens.has(token) || !req.headers['user-agent'])
      return json(res, 401, { message: 'Requires authentication' });
    if (url.pathname === '/api/v3/user') return json(res, 200, state.user);
    if (url.pathname === '/api/v3/user/emails') return json(res, 200, state.emails);
    json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
