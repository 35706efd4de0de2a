// pino-pretty prints messages and error stacks as they are, so an upstream's error body with ESC
// sequences, \r or a bell in it would reach the terminal raw. JSON lines that carry such characters
// are re-encoded with them escaped before the pretty-printer sees them; the rest pass untouched.
import { printable, printableDeep, printableJson } from '@trivy-mirror/plugin-api';

// How a control character looks in a JSON line: \u00XX, \b, \f or \r escapes, or DEL/C1 raw.
// A false hit (an escaped backslash before an r) only costs a parse.
const SUSPECT = /\\u00[01]|\\[bfr]|[\u007f-\u009f]/;

/** A pino `streamWrite` hook: the JSON line with every control character in its strings escaped. */
export function printableJsonLine(line: string): string {
  if (!SUSPECT.test(line)) return line;
  try {
    return `${JSON.stringify(printableDeep(JSON.parse(line)))}\n`;
  } catch {
    return printable(printableJson(line));
  }
}
