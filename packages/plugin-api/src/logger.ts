// The logger plugins are given: the calls they make, and nothing of the library behind it (the runtime
// adapts pino to it). `obj` carries structured fields (`err` for an error); `msg` is the message.

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}
