// Small helpers for CLI output: errors with their causes and config issues, sizes, durations.
import { ConfigError, describeError } from '@trivy-mirror/plugin-api/errors';
import { printable } from '@trivy-mirror/plugin-api/terminal-text';

export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
  }
}

/**
 * One message for the terminal: config issues one per line, else the error and its causes. Messages
 * quote upstreams (a registry's error body), so control characters come out escaped.
 */
export function formatCliError(err: unknown): string {
  return printable(errorText(err));
}

function errorText(err: unknown): string {
  if (err instanceof ConfigError && err.issues.length > 0) {
    // The message usually lists the issues already (with columns); list them only when it does not.
    if (err.issues.every((i) => err.message.includes(i.path))) return err.message;
    const lines = err.issues.map((i) => `  ${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`);
    return `${err.message}\n${lines.join('\n')}`;
  }
  const text = describeError(err);
  // Registry errors carry the protocol code and HTTP status: show them, operators grep for them.
  const { code, status } = (err ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === 'string' && typeof status === 'number' && !text.includes(code)) {
    return `${text} (${code}, HTTP ${status})`;
  }
  return text;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '-';
  const abs = Math.abs(s);
  const txt =
    abs < 120
      ? `${abs}s`
      : abs < 7200
        ? `${Math.round(abs / 60)}m`
        : abs < 172800
          ? `${Math.round(abs / 3600)}h`
          : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${txt} ago` : `in ${txt}`;
}

/** The exit code an action asked for (actions return a number; commander drops return values). */
export const exitState = { code: 0 };

/** Wraps a command action so its numeric result becomes the process exit code. */
export function exitWith<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown> | unknown,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const r = await fn(...args);
    if (typeof r === 'number') exitState.code = r;
  };
}
