// Sign-in for the page (docs/auth.md): email + password, confirmed with an emailed code, and
// passwordless email codes. Emails go through the outbox: under `valet dev` they are captured, not
// sent — read the code in the terminal, `npx valet outbox ls`, or the dashboard's Email tab.
import { Email, Password, valetAuth } from 'valet/auth';

export const auth = valetAuth({ providers: [Password(), Email()], appName: 'Your Valet app' });
