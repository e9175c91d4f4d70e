// Type errors in dev are reported without blocking reloads: one `tsc --noEmit` at a time, and
// saves that arrive meanwhile fold into a single next run.
import type { Finding } from '../check/finding.js';
import { typecheckApp } from '../check/typecheck.js';

export class BackgroundTypecheck {
  private running = false;
  private again = false;

  constructor(
    private readonly appDir: string,
    private readonly report: (findings: Finding[]) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    typecheckApp(this.appDir)
      .then(({ findings }) => this.report(findings.filter((f) => f.severity === 'error')))
      .catch((error: Error) =>
        this.report([
          { file: 'tsconfig.json', line: 1, column: 1, rule: 'typescript', severity: 'error', message: error.message },
        ]),
      )
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }
}
