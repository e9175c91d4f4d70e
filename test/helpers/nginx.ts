// A real nginx (Debian's package, installed by scripts/install-nginx.sh) load-balancing HTTP and
// WebSockets over several Valet instances on loopback: the configuration docs/deploy.md shows.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './apps.js';
import { freePort } from './processes.js';

/** How often a wait for nginx's state looks again (a poll, not a wait on time). */
const POLL_MS = 10;

export interface Nginx {
  url: string;
  /** Rewrites the upstream list and reloads (nginx -s reload): how an instance leaves the pool. */
  reload(upstreams: number[]): Promise<void>;
  stop(): Promise<void>;
  /** What nginx wrote to its error log (errors and warnings): why it answered 502 or 504. */
  errors(): string;
}

/** The upstream part of docs/deploy.md's configuration, for these ports (a shorter read timeout for fault tests). */
export function nginxConfig(listen: number, upstreams: number[], prefix: string, readTimeout = '60s'): string {
  return `
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log stderr notice;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};

  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  upstream valet {
${upstreams.map((port) => `    server 127.0.0.1:${port} max_fails=2 fail_timeout=10s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${listen};
    # Live queries and queued mutations: one long-lived WebSocket per client.
    location = /api/sync {
      proxy_pass http://valet;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1h;
    }
    # Calls, health and the rest: a frozen instance must not hold a request for an hour.
    location / {
      proxy_pass http://valet;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_read_timeout ${readTimeout};
      # An instance that refuses or times out is skipped (and after max_fails, left alone for
      # fail_timeout); a POST already sent is never resent. Not http_503: during a database outage
      # every instance says 503, and marking them all down would turn that into nginx's own 502.
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
    }
  }
}
`;
}

export async function startNginx(upstreams: number[], readTimeout?: string): Promise<Nginx> {
  const prefix = tempDir('valet-nginx-');
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, dir));
  const port = await freePort();
  writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(port, upstreams, prefix, readTimeout));
  const child: ChildProcess = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/api/health`);
      break;
    } catch {
      if (child.exitCode !== null || i > 200) throw new Error(`nginx did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    url,
    errors: () =>
      output
        .split('\n')
        .filter((line) => /\[(error|warn)\]/.test(line))
        .join('\n'),
    async reload(next) {
      writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(port, next, prefix, readTimeout));
      const count = (pattern: RegExp) => (output.match(pattern) ?? []).length;
      const started = count(/start worker process/g);
      const leaving = count(/gracefully shutting down/g);
      child.kill('SIGHUP');
      // The new worker takes new connections once it started and the old one stopped accepting
      // ("gracefully shutting down": it only finishes what it has, long-lived sockets included).
      // Until then a new connection may still reach the old worker, and the old upstreams.
      for (
        let i = 0;
        count(/start worker process/g) === started || count(/gracefully shutting down/g) === leaving;
        i++
      ) {
        if (child.exitCode !== null || i > 400) throw new Error(`nginx did not reload: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}
