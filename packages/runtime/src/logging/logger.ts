// The root pino logger: JSON lines on stdout for journald, pino-pretty on a terminal, secrets redacted.
import { printableJson, quotingCausesOnce, REDACT_PATHS } from '@trivy-mirror/plugin-api';
import { createRequire } from 'node:module';
import pino from 'pino';
import { printableJsonLine } from './printable-log-line.js';

// pino-pretty (and its ~30 modules) only loads for a terminal: a daemon under systemd or in a
// container logs JSON and should not carry it (idle memory). createLogger is synchronous, and
// pino-pretty is CommonJS, so require() it on first use.
const require = createRequire(import.meta.url);
type PrettyFactory = typeof import('pino-pretty');
let prettyFactory: PrettyFactory | undefined;
function loadPretty(): PrettyFactory {
  prettyFactory ??= require('pino-pretty') as PrettyFactory;
  return prettyFactory;
}

export type LogFormat = 'auto' | 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Paths pino censors; `*.x` covers one level below the root (e.g. `{ credential: { password } }`). */
export { REDACT_PATHS };

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go (default stdout). Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
  /** Overrides the TTY check for `format: 'auto'`. */
  isTty?: boolean;
  /** pino hooks (the CLI drops error records it prints itself). */
  hooks?: pino.LoggerOptions['hooks'];
}

/**
 * The runtime's own logger: pino's, with its level and flush. It is the plugin-api `Logger` plugins get
 * (pino's methods and child() are that interface), without plugins seeing pino's types.
 */
export type RuntimeLogger = pino.Logger;

export function createLogger(options: LoggerOptions = {}): RuntimeLogger {
  const format = options.format ?? 'auto';
  const isTty = options.isTty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const usePretty = format === 'pretty' || (format === 'auto' && isTty);
  const base: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: quotingCausesOnce(pino.stdSerializers.err) },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Control characters from outside (an upstream's error body) come out escaped: JSON escapes C0
    // itself, DEL and C1 here; the pretty-printer would write them all raw.
    hooks: { ...options.hooks, streamWrite: usePretty ? printableJsonLine : printableJson },
  };
  if (usePretty) {
    // A synchronous pretty stream (no worker thread): the daemon's output is small.
    const stream = loadPretty()({
      colorize: isTty,
      destination: options.destination ?? 1,
      sync: true,
      ignore: 'pid,hostname',
      translateTime: 'SYS:HH:MM:ss.l',
    });
    return pino(base, stream);
  }
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** Discards everything (tests, one-shot helpers). */
export function silentLogger(): RuntimeLogger {
  return pino({ level: 'silent' });
}
