export * from './contributions.js';
export * from './errors.js';
export * from './events.js';
export * from './plugin.js';
export * from './redact-paths.js';
export { quotingCausesOnce } from './error-serializer.js';
export * from './services.js';
export type { LogFn } from './logger.js';
export * from './cron-expression.js';
