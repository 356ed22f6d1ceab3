/**
 * The security headers the runner puts on every answer it gives (pages, assets, API JSON,
 * errors), and the Content-Security-Policy among them, which allows the site's own inline
 * scripts by hash: the hashes are read from the built HTML once, when the runner starts (a
 * rebuild needs a restart, as for the lab manifest).
 * It does not decide anything per route, and it does not use Astro's `security.csp` (see
 * SCRIPT_SRC for why): one policy, in a header, for everything.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

/**
 * Scripts: only the runner's own files, plus the inline scripts of the built pages by hash
 * (Astro inlines the no-flash theme script and small module scripts such as the page chrome).
 * Never 'unsafe-inline': an injected <script> or onclick= must not run. 'wasm-unsafe-eval'
 * lets Pagefind compile its WebAssembly search index; it allows no JS eval().
 * Astro 7 has `security.csp`, a <meta> policy per page. Tried on this site, it left out the
 * hashes of the is:inline theme script and of the inlined <style> elements, and it has no
 * answer for xterm's styles (below); a <meta> policy can't carry frame-ancestors either. A
 * second policy would only add a way for two policies (which browsers intersect) to disagree.
 */
export const SCRIPT_SRC = ["'self'", "'wasm-unsafe-eval'"] as const;

/**
 * Styles may be inline. xterm.js 6 (the terminals) writes its theme colours and cell size into
 * <style> elements it creates at run time and sets style attributes on truecolour cells, with
 * no nonce option; Shiki colours every code token with a style attribute. Hashes can't cover
 * text made at run time. What CSS can do without script is limited to this origin by the
 * other directives (images, fonts and connections go nowhere else).
 */
export const STYLE_SRC = ["'self'", "'unsafe-inline'"] as const;

/** Anything the policy doesn't name: this origin only. */
const DEFAULT_SRC = "default-src 'self'";

/** The policy's directives after default-src and script-src, each with why. */
const CSP_DIRECTIVES = [
  ['style-src', ...STYLE_SRC].join(' '),
  // Pagefind's search UI draws its icons as data: SVG in its stylesheet.
  "img-src 'self' data:",
  "font-src 'self'",
  // The lab API and the terminal WebSockets are on this origin; 'self' covers ws:/wss: to it.
  "connect-src 'self'",
  // Pagefind searches in a worker loaded from /pagefind/.
  "worker-src 'self'",
  // No plugins, no <base> that would re-point every relative URL, forms post only here.
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  // A page with root shells must not be framed by another site (clickjacking Run or Stop).
  "frame-ancestors 'self'",
];

/**
 * Headers other than the policy. Not here: Strict-Transport-Security (the runner speaks plain
 * HTTP on loopback; the TLS proxy in front sets it) and X-Frame-Options (frame-ancestors
 * replaces it in every browser that runs the site's scripts).
 */
export const STATIC_SECURITY_HEADERS = {
  // A file is what its Content-Type says: a JSON answer or a text file is never run as script.
  'X-Content-Type-Options': 'nosniff',
  // Page addresses (lesson, lab) are not told to other sites a lesson links to.
  'Referrer-Policy': 'same-origin',
  // A page another site opens gets no handle on this window, and this one none on it.
  'Cross-Origin-Opener-Policy': 'same-origin',
  // Other sites can't embed the runner's files (scripts, JSON) with no-cors requests.
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export type SecurityHeaders = Readonly<Record<string, string>>;

/** The Content-Security-Policy for a site whose inline scripts have these hashes. */
export function contentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [DEFAULT_SRC, ['script-src', ...SCRIPT_SRC, ...scriptHashes].join(' '), ...CSP_DIRECTIVES].join('; ');
}

const INLINE_SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const HAS_SRC = /\ssrc\s*=/i;

/**
 * The CSP hash source of every distinct inline <script> in the built pages under siteDir,
 * sorted; none when the site is not built. A browser hashes the script's text exactly as it
 * stands between the tags, which is what this reads.
 */
export function inlineScriptHashes(siteDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(siteDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.html'));
  } catch {
    return [];
  }
  const hashes = new Set<string>();
  for (const file of files) {
    let html: string;
    try {
      html = readFileSync(path.join(siteDir, file), 'utf8');
    } catch {
      continue; // a directory named *.html, or a file that vanished mid-build: no scripts to allow
    }
    for (const [, attributes, body] of html.matchAll(INLINE_SCRIPT)) {
      if (HAS_SRC.test(attributes!)) continue;
      hashes.add(`'sha256-${createHash('sha256').update(body!, 'utf8').digest('base64')}'`);
    }
  }
  return [...hashes].sort();
}

/** Every security header, for the site built in siteDir. Read the pages once, at start. */
export function securityHeaders(siteDir: string): SecurityHeaders {
  return { 'Content-Security-Policy': contentSecurityPolicy(inlineScriptHashes(siteDir)), ...STATIC_SECURITY_HEADERS };
}

/**
 * Put the security headers on a response before anything else is decided about it; what is
 * set later (writeHead, the file server) adds to them.
 */
export function applySecurityHeaders(res: http.ServerResponse, headers: SecurityHeaders): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
