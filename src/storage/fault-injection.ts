// Faults injected at an exact statement, for the tests that prove what holds on a bad day (a
// storage blip between a handler's commit and its status write, say). Every executor of an
// engine's connections asks `check` before it runs a statement; nothing is armed outside tests,
// and an unarmed check is one length test.
import { storageUnavailable } from './faults.js';

interface Rule {
  matches: (sql: string) => boolean;
  /** Statements matching the rule that run unharmed before it fires. */
  skip: number;
  remaining: number;
}

export class StatementFaults {
  private rules: Rule[] = [];
  /** How many statements an armed rule made fail. */
  fired = 0;

  /**
   * Makes statements whose text matches `match` fail as the database being unreachable would
   * (a storage fault): the next `times` of them, after letting `skip` through.
   */
  failNext(match: RegExp | string, options: { times?: number; skip?: number } = {}): void {
    const matches = typeof match === 'string' ? (sql: string) => sql.includes(match) : (sql: string) => match.test(sql);
    this.rules.push({ matches, skip: options.skip ?? 0, remaining: options.times ?? 1 });
  }

  /** Disarms every rule. */
  clear(): void {
    this.rules = [];
  }

  check(sql: string): void {
    if (this.rules.length === 0) return;
    const rule = this.rules.find((r) => r.matches(sql));
    if (!rule) return;
    if (rule.skip > 0) {
      rule.skip--;
      return;
    }
    if (--rule.remaining <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
    this.fired++;
    throw storageUnavailable(new Error(`injected storage fault at: ${sql.replace(/\s+/g, ' ').slice(0, 80)}`));
  }
}
