import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../valet/_generated/valet/api';
import type { Doc } from '../valet/_generated/valet/api';
import {
  useAction,
  useAuthActions,
  useAuthProviders,
  useConnectionState,
  useMutation,
  usePendingMutations,
  usePushRegistration,
  useQuery,
  useValetAuth,
  useValetClient,
} from '../valet/_generated/valet/react';
import { uploadFile } from 'valet/client';
import type { ValetClient } from '../valet/_generated/valet/react';

const TOKEN_KEY = 'valet-dev-token';
const USER_KEY = 'valet-dev-user';

/** The dev token this page signed in with (kept across reloads). */
export function currentToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  location.reload();
}

function SignIn({ url, client }: { url: string; client: ValetClient }) {
  const [name, setName] = useState('ada');
  const [error, setError] = useState<string | null>(null);
  async function signIn(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      // `valet dev` signs dev tokens for any user id; production apps use their auth provider.
      const response = await fetch(`${url}/api/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: name }),
      });
      if (!response.ok)
        throw new Error(((await response.json()) as { message?: string }).message ?? `status ${response.status}`);
      localStorage.setItem(TOKEN_KEY, ((await response.json()) as { token: string }).token);
      localStorage.setItem(USER_KEY, name);
      await client.reauthenticate();
      location.reload();
    } catch (failure) {
      setError(`Could not sign in (${(failure as Error).message}). Is \`npx valet dev\` running?`);
    }
  }
  return (
    <form className="card row" onSubmit={signIn}>
      <label>
        Sign in as <input aria-label="user id" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit">Sign in</button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

/**
 * valet/auth: an account with a password (confirmed by an emailed code), a code alone, or an
 * OpenID Connect provider of valet/auth.ts (Google, Okta, …), which sends the browser away and back.
 */
function EmailSignIn() {
  const { signIn } = useAuthActions();
  const { providers, redirectError } = useAuthProviders();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  // What the code confirms: a new account (password) or a passwordless sign-in (email).
  const [waitingFor, setWaitingFor] = useState<'password' | 'email' | null>(null);
  const [error, setError] = useState<string | null>(redirectError && `That sign-in did not finish (${redirectError}).`);

  async function run(step: () => Promise<{ signingIn: boolean }>, next: 'password' | 'email' | null) {
    setError(null);
    try {
      const { signingIn } = await step();
      setWaitingFor(signingIn ? null : next);
    } catch (failure) {
      setError((failure as Error).message);
    }
  }

  return (
    <form className="card" onSubmit={(event) => event.preventDefault()}>
      <h2>Your account</h2>
      <div className="row">
        <input
          aria-label="account email"
          type="email"
          placeholder="you@example.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <input
          aria-label="account password"
          type="password"
          placeholder="password (8+ characters)"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </div>
      <div className="row">
        <button
          type="button"
          onClick={() => void run(() => signIn('password', { flow: 'signUp', email, password }), 'password')}
        >
          Create account
        </button>
        <button
          type="button"
          onClick={() => void run(() => signIn('password', { flow: 'signIn', email, password }), null)}
        >
          Log in
        </button>
        <button type="button" className="secondary" onClick={() => void run(() => signIn('email', { email }), 'email')}>
          Email me a code
        </button>
      </div>
      {providers?.some((p) => p.name) && (
        <div className="row">
          {providers
            .filter((p) => p.name)
            .map((p) => (
              <button key={p.id} type="button" className="secondary" onClick={() => void run(() => signIn(p.id), null)}>
                Continue with {p.name}
              </button>
            ))}
        </div>
      )}
      {waitingFor && (
        <div className="row">
          <input
            aria-label="emailed code"
            inputMode="numeric"
            placeholder="8-digit code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <button
            type="button"
            onClick={() =>
              void run(
                () =>
                  waitingFor === 'password'
                    ? signIn('password', { flow: 'email-verification', email, code })
                    : signIn('email', { email, code }),
                waitingFor,
              )
            }
          >
            Confirm code
          </button>
          <span className="muted">
            Under valet dev the email is captured: the code is in the terminal and the dashboard.
          </span>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

function Users({ connected }: { connected: boolean }) {
  const users = useQuery(api.users.list, {});
  const createUser = useMutation(api.users.create).withOptimisticUpdate((store, args) => {
    const current = store.getQuery(api.users.list, {});
    if (current)
      store.setQuery(api.users.list, {}, [
        { _id: 'pending' as Doc<'users'>['_id'], _creationTime: Date.now(), ...args },
        ...current,
      ]);
  });
  const sendWelcomeEmail = useAction(api.actions.sendWelcomeEmail);
  const [email, setEmail] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // An error from while the connection was down is stale once it is back.
  useEffect(() => {
    if (connected) setError(null);
  }, [connected]);

  async function add(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    if (!address) return;
    setEmail('');
    setError(null);
    try {
      await createUser({ email: address });
    } catch (failure) {
      setError(`Could not add ${address}: ${(failure as Error).message}`);
    }
  }

  async function welcome(userId: Doc<'users'>['_id']) {
    setError(null);
    try {
      const outcome = await sendWelcomeEmail({ userId });
      setResult(outcome.accepted ? 'Welcome email queued' : 'Not sent');
    } catch (failure) {
      setError(`Failed: ${(failure as Error).message}`);
    }
  }

  return (
    <section className="card">
      <form className="row" onSubmit={add}>
        <input
          aria-label="email"
          type="email"
          placeholder="new user's email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <button type="submit">Add user</button>
      </form>
      {result && (
        <p role="status" className="status">
          {result}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {users === undefined ? (
        <p className="muted">Loading…</p>
      ) : users.length === 0 ? (
        <p className="muted">No users yet: add the first one above.</p>
      ) : (
        <ul aria-label="users" className="users">
          {users.map((user) => (
            <li key={user._id}>
              <span>{user.email}</span>
              {user._id !== 'pending' && (
                <button type="button" className="secondary" onClick={() => welcome(user._id)}>
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

/**
 * Push: the browser subscribes (public/sw.js shows what arrives) and api.push.register stores it;
 * a purchase then enqueues "Thanks for your purchase" in its own transaction (valet/purchases.ts).
 */
function Notifications() {
  const push = usePushRegistration(api.push.register);
  const buy = useMutation(api.purchases.record);
  const [bought, setBought] = useState<string | null>(null);
  const messages: Record<string, string> = {
    idle: '',
    pending: 'Turning notifications on…',
    subscribed: 'Notifications are on.',
    denied: 'Notifications are blocked for this page (allow them in the browser’s site settings).',
    default: '',
    unsupported: `Push notifications are not available here${push.result?.status === 'unsupported' ? ` (${push.result.reason})` : ''}.`,
    failed: `Could not turn notifications on${push.result?.status === 'failed' ? `: ${push.result.error}` : ''}.`,
  };
  async function purchase() {
    await buy({ item: 'Desk lamp', amountCents: 4500 });
    setBought(
      push.status === 'subscribed'
        ? 'Bought: a notification is on its way'
        : 'Bought (turn notifications on to be told)',
    );
  }
  return (
    <section className="card row" aria-label="notifications">
      {push.status === 'default' && (
        <button type="button" onClick={() => void push.register()}>
          Turn on notifications
        </button>
      )}
      {messages[push.status] && (
        <span data-testid="push-status" className="muted">
          {messages[push.status]}
        </span>
      )}
      <button type="button" className="secondary" onClick={() => void purchase()}>
        Buy a desk lamp
      </button>
      {bought && (
        <span data-testid="purchase-status" aria-live="polite">
          {bought}
        </span>
      )}
    </section>
  );
}

/** Shared files: upload with progress, a live gallery (images shown, others linked), delete. */
function Files() {
  const client = useValetClient();
  const files = useQuery(api.files.latest, {});
  const remove = useMutation(api.files.remove);
  const [progress, setProgress] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function upload(file: File | undefined) {
    if (!file) return;
    setError(null);
    try {
      await uploadFile(client, api.files.generateUploadUrl, file, {
        onProgress: (sent, total) =>
          setProgress(`Uploading ${file.name}: ${Math.round((100 * sent) / Math.max(total, 1))} %`),
      });
      setProgress(`Uploaded ${file.name}`);
    } catch (failure) {
      setProgress(null);
      setError((failure as Error).message);
    }
  }
  return (
    <section className="card" aria-label="files">
      <label className="row">
        Share a file <input type="file" aria-label="file to share" onChange={(e) => void upload(e.target.files?.[0])} />
      </label>
      {progress && (
        <p data-testid="upload-status" aria-live="polite" className="muted">
          {progress}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <ul className="files">
        {(files ?? []).map((file) => (
          <li key={file.id} data-testid="shared-file">
            {file.url && file.contentType?.startsWith('image/') ? (
              <img src={file.url} alt={`shared file ${file.id}`} width={96} height={96} />
            ) : (
              <a href={file.url ?? undefined}>{file.id}</a>
            )}
            <button type="button" className="secondary" onClick={() => void remove({ id: file.id })}>
              Delete
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function App({ client, url }: { client: ValetClient; url: string }) {
  const pending = usePendingMutations();
  const connected = useConnectionState();
  const { isAuthenticated } = useValetAuth();
  const { signOut: endSession } = useAuthActions();
  const viewer = useQuery(api.session.viewer, {});
  const withDevToken = currentToken() !== null;
  const signedIn = withDevToken || isAuthenticated;
  return (
    <main>
      <header>
        <h1>Your Valet app</h1>
        <p data-testid="connection" className={connected ? 'live' : 'offline'}>
          {connected ? 'Live' : 'Offline'}
          {pending > 0 ? ` — ${pending} change${pending === 1 ? '' : 's'} waiting to sync` : ''}
        </p>
      </header>
      {signedIn ? (
        <>
          <p className="row">
            Signed in as{' '}
            <strong data-testid="user">
              {withDevToken ? (localStorage.getItem(USER_KEY) ?? 'a dev user') : (viewer?.email ?? '…')}
            </strong>
            <button type="button" className="secondary" onClick={withDevToken ? signOut : () => void endSession()}>
              Sign out
            </button>
          </p>
          <Notifications />
          <Users connected={connected} />
          <Files />
        </>
      ) : (
        <>
          <EmailSignIn />
          <SignIn url={url} client={client} />
        </>
      )}
    </main>
  );
}
