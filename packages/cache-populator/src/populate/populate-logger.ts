// The logger shape populate needs: pino fits it; the CLI may pass nothing (silent).
export interface PopulateLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;
export const silentLogger: PopulateLogger = { debug: noop, info: noop, warn: noop, error: noop };
