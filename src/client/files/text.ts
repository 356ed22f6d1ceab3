/**
 * Whether a file's bytes can go in the editor: text is valid UTF-8 without NUL bytes (what a
 * configuration file or a script is); anything else is binary and is downloaded instead, so a
 * save never rewrites bytes the editor could not show. Pure, unit-tested.
 */

/** The file's text, or undefined when it is binary (a NUL byte, or not valid UTF-8). */
export function textOf(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    // ignoreBOM: a byte-order mark stays in the text, so saving writes the same bytes back.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
