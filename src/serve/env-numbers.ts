// Whole numbers from the environment (timeouts, caps), with one message for a bad value.
import { UserError } from '../errors/user-error.js';

export function wholeNumberFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  unit = 'milliseconds',
): number {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new UserError(`${name}: expected a whole number of ${unit} ≥ 0, got "${text}"`);
  return value;
}
