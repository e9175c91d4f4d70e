// `valet auth sessions`: valet/auth's sessions — who is signed in, with what, since when — and
// revoking one (or all of a user's): its access tokens stop working within seconds, its refresh
// token at once.
import type { Command } from 'commander';
import kleur from 'kleur';
import { UserError } from '../../errors/user-error.js';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';

export function registerAuth(program: Command): void {
  const auth = program
    .command('auth')
    .description("valet/auth: the app's own sign-in (its sessions: list, revoke)")
    .addHelpText('after', '\nExamples:\n  $ valet auth sessions\n  $ valet auth sessions revoke --user k57…');
  const sessions = auth
    .command('sessions')
    .description('sessions of valet/auth, newest first (alone: ls)')
    .addHelpText('after', '\nExamples:\n  $ valet auth sessions\n  $ valet auth sessions revoke 3kX9…');
  sessions
    .command('ls', { isDefault: true })
    .description('list sessions, newest first')
    .option('--user <id>', "only this user's (a users document id)")
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet auth sessions ls --user k57…\n  $ valet auth sessions ls --json')
    .action(async (flags: { user?: string; limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new UsageError(`--limit: a whole number from 1 to 10000, got "${flags.limit}"`);
      const { listAuthSessions } = await import('../../ops/auth-sessions.js');
      const list = await listAuthSessions(findAppDir(), { userId: flags.user, limit, now: Date.now() });
      if (flags.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      if (list.length === 0) return void process.stderr.write('No valet/auth sessions.\n');
      for (const s of list) {
        const status =
          s.status === 'active'
            ? kleur.green('active')
            : s.status === 'revoked'
              ? kleur.red('revoked')
              : kleur.dim('expired');
        const why = s.revokedReason ? kleur.dim(` (${s.revokedReason})`) : '';
        process.stdout.write(
          `${s.id}  ${status}${why}  user ${s.userId}  via ${s.provider}  since ${s.createdAt}  last used ${s.lastUsedAt}${s.client ? kleur.dim(`  ${s.client}`) : ''}\n`,
        );
      }
    });
  sessions
    .command('revoke')
    .description('end a session (or, with --user, every session of a user): it must sign in again')
    .argument('[id]', 'the session id (from valet auth sessions)')
    .option('--user <id>', 'every live session of this user')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet auth sessions revoke 3kX9…\n  $ valet auth sessions revoke --user k57…',
    )
    .action(async (id: string | undefined, flags: { user?: string }) => {
      if (Boolean(id) === Boolean(flags.user)) throw new UsageError('give a session id or --user <id>, not both');
      const { revokeAuthSessions } = await import('../../ops/auth-sessions.js');
      const target = id ? { sessionId: id } : { userId: flags.user! };
      const count = await revokeAuthSessions(findAppDir(), target, Date.now());
      if (count === 0 && id) throw new UserError(`no live session ${id} (see valet auth sessions)`);
      process.stdout.write(`Revoked ${count} session${count === 1 ? '' : 's'}.\n`);
    });
}
