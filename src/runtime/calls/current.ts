// What the running call caused, noted where it happens: an email enqueued, a call scheduled, a
// fetch made. Work that outlives the call (a scheduled call, an outbox row) stores its cause as
// text, so the call it later becomes (or the send) names its parent, on any instance.
import { currentScope } from '../scope.js';
import type { CallEvent, CallParent } from './record.js';
import { addEvent } from './record.js';

export function noteCallEvent(event: CallEvent): void {
  const call = currentScope()?.call;
  if (call) addEvent(call, event);
}

/** `<call id> <root id>` of the running call, or null outside any call. */
export function currentCause(): string | null {
  const call = currentScope()?.call;
  return call ? `${call.id} ${call.root}` : null;
}

export function parseCause(text: string | null | undefined): CallParent | null {
  if (!text) return null;
  const [id, root] = text.split(' ');
  return id && root ? { id, root } : null;
}
