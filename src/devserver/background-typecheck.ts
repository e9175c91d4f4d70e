// Type errors in dev are reported without blocking reloads: one `tsc --noEmit` at a time, and
// saves that arrive meanwhile fold into a single next run. tsc is started from a helper process
// (typecheck-host.ts), so starting it never stalls the server.
import type { Finding } from '../check/finding.js';
import { typecheckApp } from '../check/typecheck.js';
import { TypecheckHost } from './typecheck-host.js';

export class BackgroundTypecheck {
  private running = false;
  private again = false;
  private closed = false;
  private readonly host = new TypecheckHost();

  constructor(
    private readonly appDir: string,
    private readonly report: (findings: Finding[]) => void,
  ) {
    this.host.start();
  }

  request(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    typecheckApp(this.appDir, this.host.run)
      .then(({ findings }) => this.deliver(findings.filter((f) => f.severity === 'error')))
      .catch((error: Error) =>
        this.deliver([
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

  /** Stops the type check running now, if any; nothing is reported after this. */
  close(): void {
    this.closed = true;
    this.host.close();
  }

  private deliver(findings: Finding[]): void {
    if (!this.closed) this.report(findings);
  }
}
