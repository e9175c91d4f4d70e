// docs/errors.md, rendered from the table of error codes (npm run docs:errors writes it; a test
// checks it is current), so the page cannot drift from what servers and clients do.
import { CLIENT_ERROR_CODES, ERROR_CODES, type ErrorCode, type ErrorFault } from '../protocol/error-codes.js';

const RETRY_WORDS = {
  safe: 'yes: nothing was applied',
  same_key: 'with the same key, to learn the outcome',
  no: 'no',
} as const;

const FAULT_HEADINGS: Record<ErrorFault, string> = {
  caller: 'The request',
  app: "The app's code",
  operator: "The server's configuration",
  storage: 'The database',
  server: "The server's state",
};

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function renderErrorReference(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from src/protocol/error-codes.ts by `npm run docs:errors`; edit the table there. -->',
    '',
    'Every failed call answers with JSON `{ "code": "…", "message": "…" }` (and `data` for a',
    '`ValetError` a handler threw) and the HTTP status below. The code is stable: match on it, never on the message.',
    '`valet/client` rejects with a `ValetClientError` carrying the same `code`, `status` and `data`; its',
    '`ErrorCode` type lists every code here.',
    '',
    '**Retry?** says whether asking again may get another answer. *yes*: the call decided nothing (no',
    'write was applied, an Idempotency-Key is free again), so the same call may succeed later — the client',
    'retries these itself. *with the same key*: the outcome is unknown or still being decided; ask again with',
    'the same Idempotency-Key (a queued mutation is resent with its own sequence) and you get the truth. *no*:',
    'the same call fails the same way.',
  ];
  for (const fault of Object.keys(FAULT_HEADINGS) as ErrorFault[]) {
    const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].fault === fault);
    lines.push('', `## ${FAULT_HEADINGS[fault]}`, '', '| code | status | retry? | meaning |', '|---|---|---|---|');
    for (const code of codes) {
      const info = ERROR_CODES[code];
      lines.push(`| \`${code}\` | ${info.status} | ${RETRY_WORDS[info.retry]} | ${cell(info.meaning)} |`);
    }
  }
  lines.push(
    '',
    '## Made by the client',
    '',
    'No server answer arrived, so `status` is absent or the one the answer had.',
    '',
  );
  lines.push('| code | meaning |', '|---|---|');
  for (const [code, meaning] of Object.entries(CLIENT_ERROR_CODES)) lines.push(`| \`${code}\` | ${cell(meaning)} |`);
  return `${lines.join('\n')}\n`;
}
