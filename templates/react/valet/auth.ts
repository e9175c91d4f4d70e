// Sign-in for the page (docs/auth.md): email + password, confirmed with an emailed code, and
// passwordless email codes. Emails go through the outbox: under `valet dev` they are captured, not
// sent — read the code in the terminal, `npx valet outbox ls`, or the dashboard's Email tab.
import { Email, Password, valetAuth } from 'valet/auth';

export const auth = valetAuth({
  providers: [
    Password(),
    Email(),
    // Sign-in with Google, or with any OpenID Connect provider by its issuer (docs/auth.md): add
    // `Google` or `OIDC` to the import above, register the callback URL that docs/auth.md names at
    // the provider, and put its client id and secret in .env.local. The page shows a button for it.
    // Google({ clientId: process.env.AUTH_GOOGLE_ID, clientSecret: process.env.AUTH_GOOGLE_SECRET }),
  ],
  appName: 'Your Valet app',
});
