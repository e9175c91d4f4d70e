// The dashboard's API: the server's admin API and call endpoints under /_dashboard/api, with the
// session cookie (sent by the browser) and the header that proves a same-origin page.
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ApiResponse<T> {
  body: T;
  headers: Headers;
  ms: number;
}

export async function request<T = any>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`/_dashboard/api/${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        'x-valet-dashboard': '1',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(
      'The server is not answering (is valet dev still running?). This page reconnects by itself.',
      0,
      'unreachable',
    );
  }
  const ms = performance.now() - started;
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!response.ok && !(path.startsWith('call/') && body && typeof body === 'object' && 'code' in body)) {
    throw new ApiError(
      body?.message ?? `the server answered ${response.status}`,
      response.status,
      body?.code ?? 'error',
    );
  }
  return { body, headers: response.headers, ms };
}

export async function get<T = any>(path: string): Promise<T> {
  return (await request<T>(path)).body;
}

export async function post<T = any>(path: string, body: unknown = {}): Promise<T> {
  return (await request<T>(path, { body })).body;
}
