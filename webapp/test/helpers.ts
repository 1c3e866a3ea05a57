// A stand-in for the plugin's server routes: tests say what each route answers and read
// back what was requested.
import {vi} from 'vitest';

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  credentials: RequestCredentials | undefined;
}

export type RouteHandler = (call: Call) => Response | Promise<Response>;

export const base = '/plugins/com.mattermost.mattermost-plugin-metrics';

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {status, headers: {'Content-Type': 'application/json'}});
}

export function serverError(message: string, status = 500): Response {
  return json({error: message}, status);
}

/** Installs a fetch whose answers come from `routes` ("GET /jobs" → handler); anything else is a 404. */
export function fakeServer(routes: Record<string, RouteHandler>): {calls: Call[]; count: (route: string) => number} {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, 'http://localhost:3000');
      if (!url.pathname.startsWith(base)) throw new Error(`unexpected fetch of ${input}`);
      const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>));
      const call: Call = {
        method: init.method ?? 'GET',
        path: url.pathname.slice(base.length),
        headers,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
        credentials: init.credentials,
      };
      calls.push(call);
      const handler = routes[`${call.method} ${call.path}`] ?? Object.entries(routes).find(([k]) => k.endsWith('*') && `${call.method} ${call.path}`.startsWith(k.slice(0, -1)))?.[1];
      if (!handler) return serverError(`not found: ${call.path}`, 404);
      return handler(call);
    }),
  );
  return {calls, count: (route) => calls.filter((c) => `${c.method} ${c.path}` === route).length};
}

/** A promise to settle by hand (a request in flight). */
export function deferred<T>(): {promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {promise, resolve, reject};
}
