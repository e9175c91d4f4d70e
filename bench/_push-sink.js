// A local Web Push service for bench/outbox, in its own process so it does not share the worker's
// event loop: reads each request's body, answers 201 Created like a push service, prints its port.
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(request.method === 'POST' ? 201 : 405).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
