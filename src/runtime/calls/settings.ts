// The activity log's settings from the environment, checked before anything opens: a typo stops
// the server with its reason rather than logging nothing.
import type { CallLogSettings } from './log.js';
import { DEFAULT_CALL_SETTINGS } from './log.js';

const HOUR = 60 * 60 * 1000;

function numberOf(env: NodeJS.ProcessEnv, name: string, valid: (n: number) => boolean, expected: string) {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || !valid(value))
    throw new Error(`${name} must be ${expected}, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * VALET_CALLS_STORE (memory | database), VALET_CALLS_RING (calls kept in memory),
 * VALET_CALLS_RETENTION_HOURS and VALET_CALLS_SAMPLE_RATE (0–1): `defaultStore` when unset.
 */
export function callSettingsOf(env: NodeJS.ProcessEnv, defaultStore: CallLogSettings['store']): CallLogSettings {
  const store = env.VALET_CALLS_STORE?.trim() || defaultStore;
  if (store !== 'memory' && store !== 'database')
    throw new Error(`VALET_CALLS_STORE must be memory or database, got ${JSON.stringify(store)}`);
  const ring = numberOf(
    env,
    'VALET_CALLS_RING',
    (n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000,
    'a whole number from 1 to 1000000',
  );
  const hours = numberOf(
    env,
    'VALET_CALLS_RETENTION_HOURS',
    (n) => n > 0 && n <= 24 * 366,
    'a number of hours above 0',
  );
  const rate = numberOf(env, 'VALET_CALLS_SAMPLE_RATE', (n) => n >= 0 && n <= 1, 'a number from 0 to 1');
  return {
    store,
    ringSize: ring ?? DEFAULT_CALL_SETTINGS.ringSize,
    retentionMs: hours === undefined ? DEFAULT_CALL_SETTINGS.retentionMs : hours * HOUR,
    sampleRate: rate ?? DEFAULT_CALL_SETTINGS.sampleRate,
  };
}
