// A small router over web Requests: routes by method and path pattern, JSON errors
// (`{"error": "…"}`) for everything that goes wrong, and the admin check every route
// needs (upstream: 401 without a user, 403 without manage_system).

export type Params = Record<string, string>;
export type Handler = (request: Request, params: Params, userId: string) => Promise<Response> | Response;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function errorResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({error: message}, {status, headers});
}

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export interface RouterOptions {
  /** Whether the user may use the API (manage_system). */
  isAdmin: (userId: string) => Promise<boolean>;
  onError?: (request: Request, err: unknown) => void;
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly opts: RouterOptions) {}

  /** `path` may contain `{name}` segments matching [A-Za-z0-9]+ (ids). */
  add(method: string, path: string, handler: Handler): this {
    const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
    this.routes.push({method, pattern, handler});
    return this;
  }

  async handle(request: Request): Promise<Response> {
    const {pathname} = new URL(request.url);
    const matching = this.routes.map((r) => ({r, m: r.pattern.exec(pathname)})).filter((x) => x.m !== null);
    if (matching.length === 0) return errorResponse(404, `not found: ${pathname}`);
    const hit = matching.find((x) => x.r.method === request.method);
    if (!hit) {
      const allow = [...new Set(matching.map((x) => x.r.method))].join(', ');
      return errorResponse(405, `method ${request.method} not allowed on ${pathname}`, {Allow: allow});
    }
    const userId = request.headers.get('Mattermost-User-Id') ?? '';
    if (!userId) return errorResponse(401, 'not authorized: sign in to Mattermost');
    try {
      if (!(await this.opts.isAdmin(userId))) return errorResponse(403, 'forbidden: this needs the manage_system permission');
      return await hit.r.handler(request, {...(hit.m?.groups ?? {})}, userId);
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err.status, err.message);
      this.opts.onError?.(request, err);
      return errorResponse(500, `internal error: ${(err as Error).message ?? String(err)}`);
    }
  }
}
