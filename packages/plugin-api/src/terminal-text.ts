// Text from outside (a registry's error body, an upstream message, a file name) on its way to a
// terminal: raw control characters would move the cursor, rewrite the line, retitle the window or
// ring the bell, so they are shown escaped (`\x1b`) instead. Our own colours and progress bars are
// added after this, so they still work.

// C0 controls but tab and newline, DEL, and C1 controls (0x9b is CSI on 8-bit terminals).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// the same, newlines included: for fields shown on one line, where a newline could forge a line
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

const escapeControl = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** `text` with every control character except tab and newline escaped (`\x1b`, `\x0d`, `\x07`). */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** `printable` for a one-line field: newlines are escaped too. */
export function printableLine(text: string): string {
  return text.replace(CONTROL_OR_NEWLINE, escapeControl);
}

/**
 * JSON text with DEL and C1 controls written as \u00XX escapes (JSON.stringify leaves them raw; C0 it
 * escapes already): the same value, safe to print.
 */
export function printableJson(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** Every string (and key) of a JSON-like value made `printable`, e.g. a log record for a pretty-printer. */
export function printableDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return printable(value);
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((v) => printableDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[printable(k)] = printableDeep(v, depth + 1);
  return out;
}
