// The single-range subset of HTTP `Range: bytes=…` (RFC 9110 §14) that the registry handler and the
// VEX file server both answer: one range, or the whole body when the header asks for anything else.

/** An inclusive byte range of a body. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a single `bytes=` range against a body of `size` bytes: `bytes=A-B` (B clamped to the end),
 * `bytes=A-` (to the end) and `bytes=-N` (the last N bytes).
 * Returns undefined for "send it all": no header, another unit, several ranges, garbage or A > B
 * (RFC 9110 lets a server ignore a Range it cannot or will not honour). Returns null when the range is
 * unsatisfiable (answer 416 with a Content-Range that names only the size): it starts at or after the
 * end of the body (any range of an empty body), or asks for the last 0 bytes.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return undefined;
  }
  // start is never negative, so an empty body (size 0) always lands here
  if (start >= size) return null;
  return { start, end };
}
