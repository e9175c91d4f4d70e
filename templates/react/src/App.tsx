import { useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../valet/_generated/valet/api';
import type { Doc } from '../valet/_generated/valet/api';
import { useAction, useConnectionState, useMutation, usePendingMutations, useQuery } from '../valet/_generated/valet/react';
import type { ValetClient } from '../valet/_generated/valet/react';

const TOKEN_KEY = 'valet-dev-token';

/** The dev token this page signed in with (kept across reloads). */
export function currentToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

function SignIn({ url, client }: { url: string; client: ValetClient }) {
  const [name, setName] = useState('ada');
  const [error, setError] = useState<string | null>(null);
  async function signIn(event: FormEvent) {
    event.preventDefault();
    // `valet dev` signs dev tokens for any user id; production apps use their auth provider.
    const response = await fetch(`${url}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: name }) });
    if (!response.ok) return setError('Could not sign in: is `npx valet dev` running?');
    localStorage.setItem(TOKEN_KEY, ((await response.json()) as { token: string }).token);
    await client.reauthenticate();
    location.reload();
  }
  return (
    <form onSubmit={signIn}>
      <label>
        Sign in as <input aria-label="user id" value={name} onChange={(e) => setName(e.target.value)} />
      </label>{' '}
      <button type="submit">Sign in</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function Users() {
  const users = useQuery(api.users.list, {});
  const createUser = useMutation(api.users.create).withOptimisticUpdate((store, args) => {
    const current = store.getQuery(api.users.list, {});
    if (current) store.setQuery(api.users.list, {}, [{ _id: 'pending' as Doc<'users'>['_id'], _creationTime: Date.now(), ...args }, ...current]);
  });
  const sendWelcomeEmail = useAction(api.actions.sendWelcomeEmail);
  const [email, setEmail] = useState('');
  const [result, setResult] = useState<string | null>(null);

  async function add(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    if (!address) return;
    setEmail('');
    await createUser({ email: address });
  }

  async function welcome(userId: Doc<'users'>['_id']) {
    try {
      const outcome = await sendWelcomeEmail({ userId });
      setResult(outcome.accepted ? 'Welcome email queued' : 'Not sent');
    } catch (error) {
      setResult(`Failed: ${(error as Error).message}`);
    }
  }

  return (
    <section>
      <form onSubmit={add}>
        <input aria-label="email" placeholder="new user's email" value={email} onChange={(e) => setEmail(e.target.value)} />{' '}
        <button type="submit">Add user</button>
      </form>
      {result && <p role="status">{result}</p>}
      {users === undefined ? (
        <p>Loading…</p>
      ) : (
        <ul aria-label="users">
          {users.map((user) => (
            <li key={user._id}>
              <span>{user.email}</span>{' '}
              {user._id !== 'pending' && (
                <button type="button" onClick={() => welcome(user._id)}>
                  Send welcome email
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function App({ client, url }: { client: ValetClient; url: string }) {
  const pending = usePendingMutations();
  const connected = useConnectionState();
  const signedIn = currentToken() !== null;
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '2rem auto' }}>
      <h1>Your Valet app</h1>
      <p data-testid="connection">
        {connected ? 'Live' : 'Offline'}
        {pending > 0 ? ` — ${pending} change${pending === 1 ? '' : 's'} waiting to sync` : ''}
      </p>
      {signedIn ? <Users /> : <SignIn url={url} client={client} />}
    </main>
  );
}
