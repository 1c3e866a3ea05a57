// Calls to the plugin's server routes: same origin, the Mattermost session cookie, and the
// CSRF header Mattermost requires on every request that changes something.
import manifest from '../../plugin.json';

import type {DumpJob, PluginStatus, TSDBStats} from './types.ts';

declare global {
  interface Window {
    /** Set by the Mattermost web app when it is served below a subpath. */
    basename?: string;
  }
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function pluginUrl(path: string): string {
  return `${window.basename || ''}/plugins/${manifest.id}${path}`;
}

export function csrfToken(cookies: string = document.cookie): string {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'MMCSRF') return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return '';
}

/** The message of a failed response: the server's `{"error": …}`, else its text, else the status. */
async function failureMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const err = (body as {error?: unknown; message?: unknown}).error ?? (body as {message?: unknown}).message;
      if (typeof err === 'string' && err) return err;
    }
  } catch {
    // Not JSON: the text itself (a proxy's error page is still better than nothing).
  }
  const trimmed = text.trim();
  if (trimmed && trimmed.length <= 300 && !trimmed.startsWith('<')) return trimmed;
  return `${response.status} ${response.statusText || 'request failed'}`.trim();
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json'};
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(pluginUrl(path), {
      method,
      headers,
      credentials: 'include',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(`the server could not be reached: ${(err as Error).message}`, 0);
  }
  if (!response.ok) throw new ApiError(await failureMessage(response), response.status);
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(`the server sent something that is not JSON (${response.status})`, response.status);
  }
}

export const api = {
  status: (signal?: AbortSignal) => request<PluginStatus>('GET', '/status', undefined, signal),
  tsdbStats: (signal?: AbortSignal) => request<TSDBStats>('GET', '/tsdb/stats', undefined, signal),
  jobs: (signal?: AbortSignal) => request<DumpJob[] | null>('GET', '/jobs', undefined, signal),
  createJob: (minT: number, maxT: number) => request<DumpJob>('POST', '/jobs/create', {min_t: minT, max_t: maxT}),
  cancelJob: (id: string) => request<DumpJob>('POST', `/jobs/cancel/${encodeURIComponent(id)}`),
  deleteJob: (id: string) => request<unknown>('DELETE', `/jobs/delete/${encodeURIComponent(id)}`),
  deleteAllJobs: () => request<unknown>('DELETE', '/jobs/deleteAll'),
  /** Downloads go through browser navigation (the file never sits in page memory). */
  downloadUrl: (id: string) => pluginUrl(`/jobs/download/${encodeURIComponent(id)}`),
};
