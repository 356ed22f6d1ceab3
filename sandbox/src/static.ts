/**
 * The built course site over HTTP: GET and HEAD of the files under one directory. `send` (the
 * file server inside express.static) maps the path to a file, refuses "..", ignores dotfiles,
 * and does ETags, conditional GETs and byte ranges (range-parser: an unsatisfiable range is a
 * 416, an unreadable one is ignored, a last byte past the end is clamped, ranges that overlap
 * become one, several apart get the whole file). This module decides what send leaves to its
 * caller: how long each kind of file may be cached, directory URLs without their slash, the
 * answer when something is not there or a request is wrong, and one range-parser reading.
 * It sets no security headers (the runner sets them on every answer before calling, and they
 * stay on every answer this gives), compresses nothing and lists no directory.
 */
import { existsSync, readFileSync, type Stats } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import send from 'send';

export const CACHE_CONTROL = {
  /** Content-hashed files: a rebuild that changes one gives it a new name, so no copy goes stale. */
  immutable: 'public, max-age=31536000, immutable',
  /** Everything else may be stored, but is revalidated (ETag) before each use: a rebuild shows at once. */
  revalidate: 'no-cache',
} as const;

/**
 * Files whose names carry a hash of their content, relative to the site root: Astro's bundles
 * and assets under _astro/, and Pagefind's index chunks, fragments, filters and per-language
 * meta file. Not pagefind.js, pagefind-entry.json or wasm.<language>.pagefind: those keep their
 * names across builds (pagefind.js asks for the entry file with a ?ts= cache buster itself).
 */
const HASHED_FILES = [
  /^_astro\//,
  /^pagefind\/(?:fragment|index|filter)\/[^/]+\.pf_(?:fragment|index|filter)$/,
  /^pagefind\/pagefind\.[^/]+\.pf_meta$/,
];

/** A suffix range ("-N": the last N bytes) at the start of a Range header's range set or after a comma. */
const SUFFIX_RANGE = /(=|,)([ \t]*)-(\d+)/g;

/** The page for an address with nothing behind it, when the site has no 404.html of its own. */
const FALLBACK_404 = '<!doctype html><title>Not found</title><p>This page does not exist. <a href="/">Back to the course</a>.</p>';

export type StaticSite = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What send emits on "error": an http-errors error. */
interface SendError {
  status?: number;
  headers?: Record<string, string>;
}

/** A file server for the site built into root; answers 503 to everything if root is missing. */
export function createStaticSite(siteDir: string): StaticSite {
  const root = path.resolve(siteDir);
  if (!existsSync(root)) {
    return (_req, res) => answer(res, 503, `The course site is not built (${root} is missing). Run "npm run build", or "npm start", which builds it.`);
  }
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return answer(res, 405, 'The course site can only be read (GET or HEAD).');
    }
    const pathname = requestPath(req.url ?? '/');
    if (pathname === undefined) return answer(res, 400, 'That address is not a path on this site.');
    serveFile(root, req, res, pathname);
  };
}

/**
 * The request's path, still percent-encoded, its dot segments ("..", "%2e%2e", "\") resolved
 * the way a browser resolves them and its query dropped. The origin in front keeps "//x" a path
 * (alone it would read as a host). Undefined for a target that is not a path ("*", absolute-form).
 */
function requestPath(target: string): string | undefined {
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`http://site${target}`).pathname;
  } catch {
    return undefined;
  }
}

function serveFile(root: string, req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
  const callerHeaders = new Set(res.getHeaderNames());
  const file = send(req, pathname, {
    root,
    index: ['index.html'],
    // Astro's pages are /lessons/x/index.html; /about may be about.html.
    extensions: ['html'],
    dotfiles: 'ignore',
    etag: true,
    lastModified: true,
    // Set per file below instead of send's one max-age for everything.
    cacheControl: false,
    // Ranges are defined for GET only (RFC 9110 14.2); a HEAD with one gets the full headers.
    acceptRanges: req.method === 'GET',
  });
  // RFC 9110 14.1.3: a suffix longer than the file means the whole file; range-parser would
  // call it unsatisfiable. Emitted once the file is found, before send reads the header.
  file.on('file', (_filePath: string, stat: Stats) => {
    const range = req.headers.range;
    if (range) req.headers.range = range.replace(SUFFIX_RANGE, (all, before: string, space: string, length: string) => (Number(length) > stat.size ? `${before}${space}-${stat.size}` : all));
  });
  file.on('headers', (_res: http.ServerResponse, filePath: string) => {
    res.setHeader('Accept-Ranges', 'bytes');
    const relative = path.relative(root, filePath).split(path.sep).join('/');
    res.setHeader('Cache-Control', HASHED_FILES.some((re) => re.test(relative)) ? CACHE_CONTROL.immutable : CACHE_CONTROL.revalidate);
  });
  // A directory without its slash (/lessons/x): its index, at this address, as with the slash.
  file.on('directory', () => serveFile(root, req, res, `${pathname}/`));
  file.on('error', (err: SendError) => {
    // A read failed after the head went out: cut the answer short rather than finish it wrongly.
    if (res.headersSent) return void res.destroy();
    // What send set described the file; the answer is about something else now.
    for (const name of res.getHeaderNames()) if (!callerHeaders.has(name)) res.removeHeader(name);
    switch (err.status) {
      // 403 is send's answer to a path with ".." left in it after decoding ("..%2f"): to
      // anyone outside, there is simply nothing there.
      case 403:
      case 404:
        return notFound(root, res);
      case 400:
        return answer(res, 400, 'That address is not a path on this site (a malformed %-escape, or a NUL byte).');
      case 412:
        return answer(res, 412, 'The file has changed since the version your request was conditional on.');
      case 416:
        res.setHeader('Content-Range', err.headers?.['Content-Range'] ?? 'bytes */0');
        return answer(res, 416, 'The requested byte range is not within the file.');
      default:
        return answer(res, 500, 'The file could not be read on the server. Rebuild the site with "npm run build" and try again.');
    }
  });
  file.pipe(res);
}

function notFound(root: string, res: http.ServerResponse): void {
  let page = FALLBACK_404;
  try {
    page = readFileSync(path.join(root, '404.html'), 'utf8');
  } catch {
    // The site has no 404 page; the short one above will do.
  }
  res.writeHead(404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': CACHE_CONTROL.revalidate }).end(page);
}

function answer(res: http.ServerResponse, status: number, sentence: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': CACHE_CONTROL.revalidate }).end(`${sentence}\n`);
}
