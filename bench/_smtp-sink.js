// A local SMTP server for bench/outbox, in its own process so it does not share the worker's
// event loop: accepts everything, counts messages, prints its port.
import { SMTPServer } from 'smtp-server';

let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      received++;
      callback();
    });
  },
});
// Like production MTAs, answer without Nagle's delay (otherwise each SMTP round trip waits ~40 ms
// for a delayed ACK on loopback).
server.on('error', () => undefined);
server.server.on('connection', (socket) => socket.setNoDelay(true));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.server.address().port}\n`));
process.on('message', () => process.send?.({ received }));
