// `valet outbox`: the email and push outbox, listed, shown with its attempts, and retried; thin
// over runtime/outbox/store.ts.
import type { Command } from 'commander';
import kleur from 'kleur';
import { writeFileSync } from 'node:fs';
import { findAppDir } from '../../project/app-dir.js';
import { UserError } from '../../errors/user-error.js';
import { OUTBOX_CHANNELS, OUTBOX_STATUSES } from '../../runtime/outbox/statuses.js';
import { UsageError } from '../errors.js';
import { parseLimit } from '../options.js';

const STATUSES: readonly string[] = OUTBOX_STATUSES;
const CHANNELS: readonly string[] = OUTBOX_CHANNELS;

/** A plain-text preview of an HTML body for the terminal (the file option keeps the real HTML). */
function htmlPreview(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|h\d|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function registerOutbox(program: Command): void {
  const command = program
    .command('outbox')
    .description(
      'email and push messages written by ctx.email.enqueue and ctx.push.enqueue: queued, sent, failed, dead-lettered (alone: ls)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet outbox\n  $ valet outbox ls --status dead\n  $ valet outbox show 7q3…\n  $ valet outbox retry --dead',
    );
  command
    .command('ls', { isDefault: true })
    .description('list messages in the outbox, newest first')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--channel <channel>', `only this channel: ${CHANNELS.join(', ')}`)
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet outbox ls\n  $ valet outbox ls --status dead --json\n  $ valet outbox ls --channel push',
    )
    .action(async (flags: { status?: string; channel?: string; limit: string; json?: boolean }) => {
      if (flags.status && !STATUSES.includes(flags.status))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      if (flags.channel && !CHANNELS.includes(flags.channel))
        throw new UsageError(`--channel must be one of ${CHANNELS.join(', ')}`);
      const limit = parseLimit(flags.limit);
      const { listOutbox } = await import('../../runtime/outbox/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const emails = await listOutbox(db.sql, {
          status: flags.status as never,
          channel: flags.channel as never,
          limit,
        });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(emails, null, 2)}\n`);
        if (emails.length === 0) return void process.stderr.write('The outbox is empty.\n');
        for (const e of emails) {
          const to = e.channel === 'push' ? `push → subscription ${e.subscriptionId}` : e.to.join(', ');
          process.stdout.write(
            `${e.id}  ${e.createdAt}  ${e.status.padEnd(7)} ${String(e.attempts).padStart(2)}×  ${to}  ${kleur.bold(e.subject)}\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
  command
    .command('retry')
    .description('queue failed or dead-lettered emails for delivery again')
    .argument('[id]', 'one email')
    .option('--dead', 'every dead-lettered email')
    .addHelpText('after', '\nExamples:\n  $ valet outbox retry 7q3…\n  $ valet outbox retry --dead')
    .action(async (id: string | undefined, flags: { dead?: boolean }) => {
      if (!id === !flags.dead) throw new UsageError('give an email id, or --dead for every dead-lettered email');
      const { retryEmails } = await import('../../runtime/outbox/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir(), { writable: true });
      try {
        const queued = await retryEmails(db.sql, flags.dead ? { dead: true } : { ids: [id!] }, Date.now());
        if (id && queued.length === 0)
          throw new UserError(`email ${id} is not failed or dead (only those can be retried)`);
        process.stderr.write(
          `${kleur.green('✔')} queued ${queued.length} email${queued.length === 1 ? '' : 's'} again; a running server delivers ${queued.length === 1 ? 'it' : 'them'} within a second\n`,
        );
      } finally {
        await db.close();
      }
    });
  command
    .command('show')
    .description(
      "one message: an email's headers, text and HTML (as a text preview, or saved to a file); a push message's payload and subscription; every attempt",
    )
    .argument('<id>', 'the message id (from outbox ls)')
    .option('--save-html <file>', 'write the HTML body to this file')
    .option('--json', 'print as JSON (bodies included)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet outbox show 7q3…\n  $ valet outbox show 7q3… --save-html welcome.html',
    )
    .action(async (id: string, flags: { saveHtml?: string; json?: boolean }) => {
      const { getOutboxEmail } = await import('../../runtime/outbox/store.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        const email = await getOutboxEmail(db.sql, id);
        if (!email) throw new UserError(`no message ${id} in the outbox`);
        if (flags.saveHtml) {
          if (email.html === null) throw new UserError(`email ${id} has no HTML body`);
          writeFileSync(flags.saveHtml, email.html);
          process.stderr.write(`Saved the HTML body to ${flags.saveHtml}\n`);
        }
        if (flags.json) return void process.stdout.write(`${JSON.stringify(email, null, 2)}\n`);
        const header = (name: string, value: unknown) =>
          process.stdout.write(`${kleur.bold(`${name}:`)} ${value ?? ''}\n`);
        if (email.channel === 'push') {
          header('Channel', 'push');
          header(
            'Subscription',
            email.subscription
              ? `${email.subscription.id} ${email.subscription.endpoint}${email.subscription.userId ? ` (user ${email.subscription.userId})` : ''}${email.subscription.invalidAt ? ` — invalid since ${email.subscription.invalidAt}: ${email.subscription.invalidReason}` : ''}`
              : 'removed',
          );
          header('Title', email.subject);
        } else {
          header('To', email.to.join(', '));
          header('Subject', email.subject);
        }
        header('Status', `${email.status} (${email.attempts} attempt${email.attempts === 1 ? '' : 's'})`);
        header('Delivery-Key', email.deliveryKey);
        header('Created', email.createdAt);
        if (email.sentAt) header('Sent', email.sentAt);
        if (email.lastError) header('Last error', email.lastError);
        header('Source', email.source);
        if (email.history.length > 0) {
          process.stdout.write(`\n--- attempts ---\n`);
          for (const attempt of email.history)
            process.stdout.write(
              `${String(attempt.attempt).padStart(2)}  ${attempt.at}  ${attempt.outcome}${attempt.detail ? `  ${attempt.detail}` : ''}\n`,
            );
        }
        if (email.push)
          process.stdout.write(
            `\n--- payload (ttl ${email.push.ttl} s, urgency ${email.push.urgency}${email.push.topic ? `, topic ${email.push.topic}` : ''}) ---\n${JSON.stringify(email.push.notification, null, 2)}\n`,
          );
        if (email.text !== null) process.stdout.write(`\n--- text ---\n${email.text}\n`);
        if (email.html !== null)
          process.stdout.write(
            `\n--- html (as text; --save-html <file> for the HTML) ---\n${htmlPreview(email.html)}\n`,
          );
      } finally {
        await db.close();
      }
    });
}
