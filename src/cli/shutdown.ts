/**
 * Resolves once SIGINT or SIGTERM arrived and `close` finished: how long-running commands end. A
 * second signal while closing calls `hurry` (a server ends its drain and stops at once).
 */
export function untilShutdown(close: () => Promise<void>, hurry?: () => void): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const stop = () => {
      if (closing) {
        hurry?.();
        return;
      }
      closing = true;
      if (!hurry) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      process.stderr.write('Stopping…\n');
      void close().then(() => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
