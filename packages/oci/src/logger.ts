// The logger shape the client accepts: pino's methods, so a pino child logger fits as is.

export interface OciLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};
export const silentLogger: OciLogger = { debug: noop, info: noop, warn: noop, error: noop };
