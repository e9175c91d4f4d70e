// /http/*: the app's own routes (valet/http.ts). The request becomes a web Request, the route's
// Response is written back as it is: a route sets its own headers, CORS included.
import { engineOf } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

export async function serveAppRoute(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  const engine = engineOf(context);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const body = hasBody ? await request.readBody() : undefined;
  const url = new URL(request.url, `http://${request.headers.host ?? 'localhost'}`);
  const webRequest = new Request(url, { method: request.method, headers, body: body as BodyInit | undefined });
  const response = await engine.handleHttp(webRequest, request.pathname.slice('/http'.length) || '/');
  const payload = new Uint8Array(await response.arrayBuffer());
  const raw: string[] = [];
  response.headers.forEach((value, name) => raw.push(name, value));
  if (!response.headers.has('content-length')) raw.push('content-length', String(payload.length));
  return { status: response.status, headers: raw, body: payload };
}
