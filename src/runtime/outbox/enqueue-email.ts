// ctx.email.enqueue: one outbox row, written through the same executor as the handler's writes,
// so it commits or rolls back with them. Delivery is the outbox worker's job.
import { currentCause, noteCallEvent } from '../calls/current.js';
import { newId } from '../../storage/ids.js';
import type { DocumentStore } from '../../storage/documents.js';
import { EngineError } from '../errors.js';
import type { WriteExecutor } from '../database-api.js';

const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;
const MAX_RECIPIENTS = 50;
const MAX_BODY_BYTES = 1024 * 1024;

export interface EmailInput {
  to: string | string[];
  subject: string;
  html?: string;
  text?: string;
  deliveryKey?: string;
}

function invalid(message: string): EngineError {
  return new EngineError('invalid_email', `ctx.email.enqueue: ${message}`);
}

export function validateEmail(input: EmailInput): {
  recipients: string[];
  subject: string;
  html: string | null;
  text: string | null;
  deliveryKey: string | null;
} {
  if (input === null || typeof input !== 'object') throw invalid('pass { to, subject, html | text }');
  const recipients = Array.isArray(input.to) ? input.to : [input.to];
  if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS)
    throw invalid(`to: give 1 to ${MAX_RECIPIENTS} addresses`);
  recipients.forEach((address, i) => {
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw invalid(`to${Array.isArray(input.to) ? `[${i}]` : ''}: ${JSON.stringify(address)} is not an email address`);
  });
  if (typeof input.subject !== 'string' || input.subject.trim() === '')
    throw invalid('subject: a non-empty string is required');
  if (/[\r\n]/.test(input.subject)) throw invalid('subject: must be one line (no line breaks)');
  if (input.subject.length > 998) throw invalid('subject: at most 998 characters');
  const html = input.html ?? null;
  const text = input.text ?? null;
  if (html === null && text === null) throw invalid('give html or text (or both)');
  if ((html !== null && typeof html !== 'string') || (text !== null && typeof text !== 'string'))
    throw invalid('html and text must be strings');
  if (Buffer.byteLength(html ?? '') + Buffer.byteLength(text ?? '') > MAX_BODY_BYTES)
    throw invalid('the body is larger than 1 MiB');
  const deliveryKey = input.deliveryKey ?? null;
  if (
    deliveryKey !== null &&
    (typeof deliveryKey !== 'string' || deliveryKey.length === 0 || deliveryKey.length > 200)
  ) {
    throw invalid('deliveryKey: a string of 1 to 200 characters');
  }
  return { recipients, subject: input.subject, html, text, deliveryKey };
}

/**
 * Inserts the outbox row, or returns the id of the row already queued under the same deliveryKey.
 * The unique index on delivery_key does the check: only a duplicate pays for the extra lookup.
 */
async function insertOutboxRow(
  store: DocumentStore,
  email: ReturnType<typeof validateEmail>,
  now: number,
  source: string,
): Promise<string> {
  const id = newId();
  const { changes } = await store.sql.run(
    `INSERT INTO _valet_outbox (id, delivery_key, recipients, subject, html, text, status, attempts, next_attempt_at, created_at, source, caused_by)
     VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?) ON CONFLICT (delivery_key) DO NOTHING`,
    [
      id,
      email.deliveryKey,
      JSON.stringify(email.recipients),
      email.subject,
      email.html,
      email.text,
      now,
      now,
      source,
      currentCause(),
    ],
  );
  noteCallEvent({ type: 'email', at: now, detail: email.subject, id: changes === 1 ? id : undefined });
  if (changes === 1) return id;
  return (await store.sql.get<{ id: string }>('SELECT id FROM _valet_outbox WHERE delivery_key = ?', [
    email.deliveryKey,
  ]))!.id;
}

export function emailApi(
  write: WriteExecutor,
  now: () => number,
  source: string,
  afterEnqueue: () => void = () => undefined,
) {
  return {
    enqueue(input: EmailInput): Promise<string> {
      let email: ReturnType<typeof validateEmail>;
      try {
        email = validateEmail(input);
      } catch (error) {
        return Promise.reject(error);
      }
      return write((store) => insertOutboxRow(store, email, now(), source)).then((id) => {
        afterEnqueue();
        return id;
      });
    },
  };
}
