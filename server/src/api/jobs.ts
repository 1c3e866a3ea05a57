// The dump job routes (upstream's paths and JSON, spec §5), plus cancel and Range downloads.
// A finished job whose file dump retention deleted answers 410 Gone.

import {Readable} from 'node:stream';

import {type DumpJob, type DumpJobRunner, JobNotFoundError, JobValidationError, isValidJobId} from '../dump/mod.ts';
import type {FileBackend} from '../filestore/mod.ts';
import {HttpError, type Router} from './router.ts';

export interface JobsSource {
  runner: DumpJobRunner;
  backend: FileBackend;
}

const ok = (): Response => Response.json({status: 'OK'});

function expiredMessage(job: DumpJob): string {
  const when = job.expired_at ? ` on ${new Date(job.expired_at).toISOString()}` : '';
  return `the dump of job ${job.id} was deleted${when} (${job.expired_reason ?? 'dump retention'}); create a new dump job for this range`;
}

function jobId(id: string | undefined): string {
  if (!id || !isValidJobId(id)) throw new HttpError(400, `invalid job id: ${JSON.stringify(id ?? '')}`);
  return id;
}

function translate(e: unknown): never {
  if (e instanceof JobValidationError) throw new HttpError(400, e.message);
  if (e instanceof JobNotFoundError) throw new HttpError(404, e.message);
  throw e;
}

/** Parses a single `bytes=a-b` / `a-` / `-n` range; null = serve whole file; 'invalid' = 416. */
export function parseRange(header: string | null, size: number): {start: number; end: number} | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.includes(',') || !header.startsWith('bytes=') ? null : 'invalid';
  const [, a, b] = m;
  if (a === '' && b === '') return 'invalid';
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'invalid';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return {start, end};
}

export function addJobRoutes(router: Router, source: () => JobsSource | null): Router {
  const need = (): JobsSource => {
    const s = source();
    if (!s) throw new HttpError(503, 'dump jobs are not available: the plugin is not collecting or the file store is not usable (see /status)');
    return s;
  };
  return router
    .add('GET', '/jobs', async () => Response.json(await need().runner.list()))
    .add('POST', '/jobs/create', async (request, _p, userId) => {
      const {runner} = need();
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        throw new HttpError(400, 'the body must be JSON: {"min_t": ms, "max_t": ms}');
      }
      if (!body || typeof body !== 'object') throw new HttpError(400, 'the body must be a JSON object: {"min_t": ms, "max_t": ms}');
      const {min_t, max_t} = body as Record<string, unknown>;
      const {job, existing} = await runner.create(min_t, max_t, userId).catch(translate);
      return Response.json(job, {headers: existing ? {'X-Dump-Job-Existing': 'true'} : {}});
    })
    .add('POST', '/jobs/cancel/{id}', async (_r, p, userId) => Response.json(await need().runner.cancel(jobId(p.id), `cancelled by ${userId}`).catch(translate)))
    .add('DELETE', '/jobs/delete/{id}', async (_r, p) => {
      await need().runner.delete(jobId(p.id)).catch(translate);
      return ok();
    })
    .add('DELETE', '/jobs/deleteAll', async () => {
      await need().runner.deleteAll();
      return ok();
    })
    .add('GET', '/jobs/download/{id}', async (request, p) => {
      const {runner, backend} = need();
      const id = jobId(p.id);
      const job = await runner.get(id);
      if (!job) throw new HttpError(404, `no dump job ${id}`);
      if (job.status !== 'success' || !job.dump_location) throw new HttpError(409, `dump job ${id} is ${job.status}, not finished`);
      if (job.expired) throw new HttpError(410, expiredMessage(job));
      const info = await backend.stat(job.dump_location);
      if (!info) {
        // Removed behind our back (by hand, or dump retention of an older version): record it.
        const reason = 'the dump file is no longer in the file store';
        await runner.markExpired([{id, reason}]).catch(() => []);
        throw new HttpError(410, expiredMessage({...job, expired_reason: reason}));
      }
      const name = job.file_name || job.dump_location.slice(job.dump_location.lastIndexOf('/') + 1);
      const headers: Record<string, string> = {
        'Content-Type': 'application/gzip',
        'Content-Disposition': `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"`,
        'Accept-Ranges': 'bytes',
        'X-Content-Type-Options': 'nosniff',
        'X-Frame-Options': 'DENY',
        'Content-Security-Policy': "frame-ancestors 'none'",
        'Cache-Control': 'no-store',
      };
      if (job.sha256) headers['X-Dump-Sha256'] = job.sha256;
      const range = parseRange(request.headers.get('Range'), info.size);
      if (range === 'invalid') {
        return new Response(JSON.stringify({error: `range not satisfiable (size ${info.size})`}), {
          status: 416,
          headers: {'Content-Type': 'application/json', 'Content-Range': `bytes */${info.size}`},
        });
      }
      if (range) {
        const stream = await backend.read(job.dump_location, range);
        return new Response(Readable.toWeb(stream) as ReadableStream, {
          status: 206,
          headers: {...headers, 'Content-Length': String(range.end - range.start + 1), 'Content-Range': `bytes ${range.start}-${range.end}/${info.size}`},
        });
      }
      const stream = await backend.read(job.dump_location);
      return new Response(Readable.toWeb(stream) as ReadableStream, {status: 200, headers: {...headers, 'Content-Length': String(info.size)}});
    });
}
