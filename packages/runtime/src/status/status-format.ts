// Text helpers of the status page: HTML escaping that also strips credentials, and short human
// forms of sizes, ages, times and digests.

/** Credentials that could ride along in error messages or URLs: userinfo, auth headers, key=value secrets. */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1[redacted]@'],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, '$1 [redacted]'],
  [
    /\b(password|passwd|token|secret|authorization|api[_-]?key)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
    '$1$2[redacted]',
  ],
];

export function scrub(text: string): string {
  return SECRET_PATTERNS.reduce((t, [re, by]) => t.replace(re, by), text);
}

/** Escapes for HTML text and attribute values, after scrubbing credentials. */
export function esc(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  return scrub(String(value)).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "3d 4h", "2h 05m", "12m", "40s". */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const text =
    d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m` : `${s}s`;
  return seconds < 0 ? `-${text}` : text;
}

/** Age of an ISO time relative to `now`: "2h 05m ago", "in 3h 10m". */
export function relative(iso: string | undefined, now: Date): string {
  const t = Date.parse(iso ?? '');
  if (!Number.isFinite(t)) return '—';
  const s = (now.getTime() - t) / 1000;
  return s >= 0 ? `${formatSeconds(s)} ago` : `in ${formatSeconds(-s)}`;
}

/** "2026-12-02 14:10" (the page says times are UTC). */
export function formatTime(iso: string | undefined): string {
  const t = Date.parse(iso ?? '');
  if (!Number.isFinite(t)) return '—';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

/** "sha256:0123456789ab". */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return '—';
  const [algo, hex] = digest.includes(':') ? digest.split(':', 2) : ['sha256', digest];
  return `${algo}:${(hex ?? '').slice(0, 12)}`;
}

/** What an error usually means, in plain words, from its code and message. */
const CAUSES: [RegExp, string][] = [
  [
    /ECONNREFUSED|connection refused/i,
    'the other side refused the connection: it is down or the port is wrong',
  ],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo/i, 'the host name does not resolve (DNS)'],
  [/ETIMEDOUT|timed out|UND_ERR_.*TIMEOUT/i, 'no answer in time: network, firewall or an overloaded server'],
  [/ECONNRESET|socket hang up|other side closed/i, 'the connection was cut mid-transfer'],
  [/\b401\b|UNAUTHORIZED|DENIED|\b403\b/i, 'credentials missing or rejected'],
  [/\b429\b|TOOMANYREQUESTS|rate limit/i, 'rate limited by the registry'],
  [/\b5\d\d\b/, 'the server answered with an error (5xx)'],
  [/ENOSPC|no space/i, 'the disk is full'],
  [/EACCES|EPERM|permission denied/i, 'no permission to write or read a path'],
  [/DIGEST|MISMATCH/i, 'content did not match its digest: a broken or tampered transfer'],
  [/MANIFEST_UNKNOWN|NAME_UNKNOWN|not found|\b404\b/i, 'the artifact or tag does not exist there'],
];

export function plainCause(error: { code?: string; message: string }): string | undefined {
  const text = `${error.code ?? ''} ${error.message}`;
  return CAUSES.find(([re]) => re.test(text))?.[1];
}
