// What a tool answers: its data as structured content (and as JSON text for clients that read
// only text), or an error the agent can act on.
import type { AdminAnswer } from './target.js';

export interface ToolAnswer {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export function answer(data: Record<string, unknown>): ToolAnswer {
  return { content: [{ type: 'text', text: JSON.stringify(data, null, 2) }], structuredContent: data };
}

export function refusal(message: string): ToolAnswer {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** The admin API's error body as a refusal; null when the answer is a success. */
export function failed(reply: AdminAnswer): ToolAnswer | null {
  if (reply.status >= 200 && reply.status < 300) return null;
  const body = reply.body as { code?: string; message?: string } | string | null;
  const message = typeof body === 'object' && body ? `${body.code ?? 'error'}: ${body.message}` : String(body);
  return refusal(`the server answered ${reply.status}: ${message}`);
}

/** A tool's body, with any exception (a broken build, an unreachable database) told as a refusal. */
export async function guarded(work: () => Promise<ToolAnswer>): Promise<ToolAnswer> {
  try {
    return await work();
  } catch (error) {
    const location = (error as { location?: { file: string; line?: number } }).location;
    const where = location ? ` (${location.file}${location.line ? `:${location.line}` : ''})` : '';
    return refusal(`${error instanceof Error ? error.message : String(error)}${where}`);
  }
}
