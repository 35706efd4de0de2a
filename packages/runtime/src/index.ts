// @trivy-mirror/runtime: everything the daemon needs except the plugins and the CLI.
export { createAdminListener, type AdminState } from './admin-server.js';
export { LayoutArtifactStore } from './artifact-store.js';
export { systemClock } from './clock.js';
export { configExample, type ExampleProfile } from './config-example.js';
export {
  type ConfigIssue,
  type ConfigPath,
  configErrorFrom,
  configWarnings,
  formatConfigPath,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  parseConfig,
} from './config-loader.js';
export {
  buildConfigSchema,
  configJsonSchema,
  DEFAULT_ADMIN_LISTEN,
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  type ExternalPluginConfig,
  type ExternalPluginSchema,
  type RuntimeConfig,
} from './config-schema.js';
export {
  type BuildContainerOptions,
  type BuiltContainer,
  buildContainer,
  publicUrlOf,
  type RuntimeMode,
  type RuntimeServices,
} from './container-factory.js';
export {
  type CheckOptions,
  type ConfigProblem,
  checkPlugins,
  formatConfigProblem,
  parseConfigPath,
  preflightError,
} from './config-check.js';
export { cronExpressionProblem } from './cron-validation.js';
export { ProviderCredentialStore } from './credential-store.js';
export { applyEnvOverrides, NAMED_ENV_OVERRIDES } from './env-overrides.js';
export { InProcessEventBus } from './event-bus.js';
export { idleConfigWarning } from './idle-config.js';
export {
  isSwitchedOff,
  type PluginListing,
  pluginListing,
  withEnabledSwitch,
  withoutSwitch,
} from './plugin-switch.js';
export { HealthRegistry, type Readiness } from './health-registry.js';
export { UndiciHttpClient, type UndiciHttpClientOptions } from './http-client.js';
export { applyTlsTrust, proxyRouterFor } from './network-settings.js';
export {
  formatHostProbe,
  type HostProbe,
  type ProbeTarget,
  probeHost,
  probeNetwork,
} from './network-probe.js';
export {
  type NetworkProbeRun,
  NetworkProbes,
  type NetworkStatus,
  PROBE_PATH,
} from './network-probe-service.js';
export { type HostRoute, hostRoutes, routeReason } from './network-routes.js';
export { networkSelfCheck, type SelfCheckOptions } from './network-self-check.js';
export { networkTargets, registryUrl } from './network-targets.js';
export { HttpListener } from './http-listener.js';
export { DEFAULT_JOB_TIMEOUT_MS, JobRunnerService, type RunHandle } from './job-runner.js';
export { MemoryReclaimer, RECLAIM_DELAY_MS } from './memory-reclaim.js';
export {
  WORKING_YOUNG_GENERATION_BYTES,
  youngGenerationBytes,
  youngGenerationGrow,
  youngGenerationHold,
} from './young-generation.js';
export { type Phase, StartupError } from './lifecycle.js';
export { type ClientId, clientOf } from './client-request.js';
export { type ArtifactUseStatus, type ClientStatus, ClientsSeen, MAX_CLIENTS } from './clients-seen.js';
export { isLoopbackHost, parseListen } from './listen-address.js';
export {
  createLogger,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
  REDACT_PATHS,
  type RuntimeLogger,
  silentLogger,
} from './logger.js';
export { RuntimeMetrics } from './metrics.js';
export {
  type LoadedPlugin,
  type LoadPluginsOptions,
  loadPlugins,
  PluginLoadError,
  pluginShapeProblems,
  resolvePluginModule,
} from './plugin-loader.js';
export { EXIT_FATAL } from './fatal-errors.js';
export { type RunDaemonOptions, runDaemon } from './run-daemon.js';
export {
  createRuntime,
  Runtime,
  type RuntimeOptions,
  type StartOptions,
  type StopResult,
} from './runtime.js';
export { jobProblems, Scheduler } from './scheduler.js';
export { AUTH_CHALLENGE, createServeListener, readTlsFiles } from './serve-server.js';
export { buildStatus, type JobStatus, type StatusReport } from './status-report.js';
export {
  type StatusVerdict,
  statusVerdict,
  VERDICTS,
  type VerdictState,
  verdictExitCode,
} from './status-verdict.js';
export { acquireStateLock, STATE_LOCK_FILE, type StateLock } from './state-lock.js';
export { systemdNotify } from './systemd-notify.js';
export { type SweepResult, sweepTempFiles } from './temp-sweep.js';
export { WatcherService } from './watcher-service.js';
