import {afterEach, describe, expect, it, vi} from 'vitest';

import {base, fakeServer, json, serverError} from '../test/helpers.ts';
import {api, ApiError, csrfToken, pluginUrl} from './client.ts';

afterEach(() => {
  document.cookie = 'MMCSRF=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  delete window.basename;
});

describe('request', () => {
  it('GETs with the session cookie and the XHR header, without a CSRF token', async () => {
    const server = fakeServer({'GET /tsdb/stats': () => json({min_t: 1, max_t: 2, num_samples: 3, num_series: 4})});
    expect(await api.tsdbStats()).toEqual({min_t: 1, max_t: 2, num_samples: 3, num_series: 4});
    const [call] = server.calls;
    expect(call.credentials).toBe('include');
    expect(call.headers['X-Requested-With']).toBe('XMLHttpRequest');
    expect(call.headers['X-CSRF-Token']).toBeUndefined();
  });

  it('sends the MMCSRF cookie as X-CSRF-Token and JSON bodies on changes', async () => {
    document.cookie = 'MMCSRF=tok%3Den';
    const server = fakeServer({'POST /jobs/create': (c) => json({id: 'a', status: 'pending', create_at: 1, ...(c.body as object)})});
    await api.createJob(1000, 2000);
    const [call] = server.calls;
    expect(call.headers['X-CSRF-Token']).toBe('tok=en');
    expect(call.headers['Content-Type']).toBe('application/json');
    expect(call.body).toEqual({min_t: 1000, max_t: 2000});
  });

  it('turns {"error": …} bodies into errors with the server’s message and status', async () => {
    fakeServer({'DELETE /jobs/delete/x': () => serverError('no dump job x', 404)});
    const err = await api.deleteJob('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('no dump job x');
    expect((err as ApiError).status).toBe(404);
  });

  it('falls back to the text, then the status, of other failures', async () => {
    fakeServer({
      'GET /jobs': () => new Response('plugin not started', {status: 503}),
      'GET /status': () => new Response('<html>bad gateway</html>', {status: 502, statusText: 'Bad Gateway'}),
    });
    await expect(api.jobs()).rejects.toThrow('plugin not started');
    await expect(api.status()).rejects.toThrow('502 Bad Gateway');
  });

  it('says when the server cannot be reached or answers something that is not JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(api.jobs()).rejects.toThrow('the server could not be reached: Failed to fetch');
    fakeServer({'GET /jobs': () => new Response('<html>', {status: 200})});
    await expect(api.jobs()).rejects.toThrow('not JSON');
  });

  it('builds URLs below the web app’s basename', () => {
    expect(pluginUrl('/jobs')).toBe(`${base}/jobs`);
    window.basename = '/mm';
    expect(api.downloadUrl('abc')).toBe(`/mm${base}/jobs/download/abc`);
  });

  it('reads the CSRF cookie among others', () => {
    expect(csrfToken('a=1; MMCSRF=xyz; b=2')).toBe('xyz');
    expect(csrfToken('MMCSRFX=1')).toBe('');
  });
});
