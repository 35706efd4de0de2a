// Log fields pino censors everywhere (runtime logger, CLI logger, plugins' child loggers).
export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  'identityToken',
  'registryToken',
  'secret',
  '*.password',
  '*.token',
  '*.authorization',
  '*.identityToken',
  '*.registryToken',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
];
