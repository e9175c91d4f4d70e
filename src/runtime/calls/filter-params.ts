// A call filter from URL parameters (/admin/calls, and `valet calls ls` checking its flags the
// same way before it asks): each bad parameter is a 400 naming itself.
import { EngineError } from '../errors.js';
import type { CallFilter } from './filter.js';
import { DEFAULT_CALL_LIMIT, MAX_CALL_LIMIT } from './filter.js';
import { CALL_KINDS, CALL_OUTCOMES } from './record.js';

function oneOf<T extends string>(params: URLSearchParams, name: string, all: readonly T[]): T | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (!(all as readonly string[]).includes(value))
    throw new EngineError('invalid_request', `${name} must be one of ${all.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function timeParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value))
    throw new EngineError(
      'invalid_request',
      `${name} must be milliseconds since the epoch or an ISO date, got ${JSON.stringify(text)}`,
    );
  return value;
}

function limitOf(params: URLSearchParams): number {
  const text = params.get('limit');
  if (text === null) return DEFAULT_CALL_LIMIT;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_CALL_LIMIT)
    throw new EngineError(
      'invalid_request',
      `limit must be an integer from 1 to ${MAX_CALL_LIMIT}, got ${JSON.stringify(text)}`,
    );
  return limit;
}

function textParam(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > 500) throw new EngineError('invalid_request', `${name} is longer than 500 characters`);
  return value;
}

export function callFilterOf(params: URLSearchParams): CallFilter {
  return {
    kind: oneOf(params, 'kind', CALL_KINDS),
    path: textParam(params, 'function'),
    outcome: oneOf(params, 'outcome', CALL_OUTCOMES),
    code: textParam(params, 'code'),
    caller: textParam(params, 'caller'),
    since: timeParam(params, 'since'),
    until: timeParam(params, 'until'),
    root: textParam(params, 'trace'),
    limit: limitOf(params),
  };
}
