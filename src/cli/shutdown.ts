/**
 * How long-running commands end: on SIGINT or SIGTERM, `close` runs and the command returns; a
 * second signal while closing calls `hurry` (a server ends its drain and stops at once). The
 * signals are caught from `catchShutdown()` on — call it before printing a ready line, or a
 * signal sent the moment that line is read could arrive before the handlers, and kill.
 */
export interface Shutdown {
  /** Resolves once a signal came (or had come already) and `close` finished. */
  until(close: () => Promise<void>, hurry?: () => void): Promise<void>;
}

export function catchShutdown(): Shutdown {
  let signalled = false;
  let closing = false;
  let onSignal: (() => void) | null = null;
  let hurryUp: (() => void) | undefined;
  const stop = () => {
    if (closing) return hurryUp?.();
    signalled = true;
    onSignal?.();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    until(close, hurry) {
      hurryUp = hurry;
      return new Promise((resolve) => {
        const begin = () => {
          if (closing) return;
          closing = true;
          process.stderr.write('Stopping…\n');
          void close().then(() => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            exitIfKeptAlive();
            resolve();
          });
        };
        onSignal = begin;
        if (signalled) begin();
      });
    },
  };
}

/** How long a stopped command may take to return and its process to end on its own. */
const EXIT_AFTER_STOP_MS = 2_000;

/**
 * A command that has stopped ends its process, even when something it used still holds the event
 * loop (a socket a library keeps, a timer): an operator's SIGTERM must end the process. What held
 * it is named, so the leak can be found.
 */
function exitIfKeptAlive(): void {
  setTimeout(() => {
    const held = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap' && kind !== 'Timeout');
    process.stderr.write(`stopped, but the process was kept alive (${held.join(', ') || 'timers'}); exiting\n`);
    process.exit(process.exitCode ?? 0);
  }, EXIT_AFTER_STOP_MS).unref();
}
