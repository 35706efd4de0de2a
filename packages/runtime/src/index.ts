// @trivy-mirror/runtime: everything the daemon needs except the plugins and the CLI.
export { createAdminListener, type AdminState } from './http/admin-server.js';
export { LayoutArtifactStore } from './services/artifact-store.js';
export { systemClock } from './services/clock.js';
export { configExample, type ExampleProfile } from './config/config-example.js';
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
} from './config/config-loader.js';
export {
  buildConfigSchema,
  configJsonSchema,
  DEFAULT_ADMIN_LISTEN,
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  type ExternalPluginConfig,
  type ExternalPluginSchema,
  type RuntimeConfig,
} from './config/config-schema.js';
export {
  type BuildContainerOptions,
  type BuiltContainer,
  buildContainer,
  publicUrlOf,
  type RuntimeMode,
  type RuntimeServices,
} from './plugins/container-factory.js';
export {
  type CheckOptions,
  type ConfigProblem,
  checkPlugins,
  formatConfigProblem,
  parseConfigPath,
  preflightError,
} from './config/config-check.js';
export { cronExpressionProblem } from './jobs/cron-validation.js';
export { ProviderCredentialStore } from './services/credential-store.js';
export { applyEnvOverrides, NAMED_ENV_OVERRIDES } from './config/env-overrides.js';
export { InProcessEventBus } from './services/event-bus.js';
export { idleConfigWarning } from './config/idle-config.js';
export { withEnabledSwitch } from './config/enabled-switch.js';
export { isSwitchedOff, type PluginListing, pluginListing, withoutSwitch } from './plugins/plugin-switch.js';
export { HealthRegistry, type Readiness } from './status/health-registry.js';
export { UndiciHttpClient, type UndiciHttpClientOptions } from './services/http-client.js';
export { applyTlsTrust, proxyRouterFor } from './network/network-settings.js';
export {
  formatHostProbe,
  type HostProbe,
  type ProbeTarget,
  probeHost,
  probeNetwork,
} from './network/network-probe.js';
export {
  type NetworkProbeRun,
  NetworkProbes,
  type NetworkStatus,
  PROBE_PATH,
} from './network/network-probe-service.js';
export { type HostRoute, hostRoutes, routeReason } from './network/network-routes.js';
export { networkSelfCheck, type SelfCheckOptions } from './network/network-self-check.js';
export { networkTargets, registryUrl } from './network/network-targets.js';
export { HttpListener } from './http/http-listener.js';
export { DEFAULT_JOB_TIMEOUT_MS, JobRunnerService, type RunHandle } from './jobs/job-runner.js';
export { MemoryReclaimer, RECLAIM_DELAY_MS } from './process/memory-reclaim.js';
export {
  WORKING_YOUNG_GENERATION_BYTES,
  youngGenerationBytes,
  youngGenerationGrow,
  youngGenerationHold,
} from './process/young-generation.js';
export { type Phase, StartupError } from './process/lifecycle.js';
export { type ClientId, clientOf } from './clients/client-request.js';
export {
  type ArtifactUseStatus,
  type ClientStatus,
  ClientsSeen,
  MAX_CLIENTS,
} from './clients/clients-seen.js';
export { isLoopbackHost, parseListen } from './http/listen-address.js';
export {
  createLogger,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
  REDACT_PATHS,
  type RuntimeLogger,
  silentLogger,
} from './logging/logger.js';
export { RuntimeMetrics } from './status/metrics.js';
export {
  type LoadedPlugin,
  type LoadPluginsOptions,
  loadPlugins,
  PluginLoadError,
  pluginShapeProblems,
  resolvePluginModule,
} from './plugins/plugin-loader.js';
export { EXIT_FATAL } from './process/fatal-errors.js';
export { type RunDaemonOptions, runDaemon } from './run-daemon.js';
export {
  createRuntime,
  Runtime,
  type RuntimeOptions,
  type StartOptions,
  type StopResult,
} from './runtime.js';
export { jobProblems, Scheduler } from './jobs/scheduler.js';
export { AUTH_CHALLENGE, createServeListener, readTlsFiles } from './http/serve-server.js';
export { buildStatus, type JobStatus, type StatusReport } from './status/status-report.js';
export {
  type StatusVerdict,
  statusVerdict,
  VERDICTS,
  type VerdictState,
  verdictExitCode,
} from './status/status-verdict.js';
export { acquireStateLock, STATE_LOCK_FILE, type StateLock } from './process/state-lock.js';
export { systemdNotify } from './process/systemd-notify.js';
export { type SweepResult, sweepTempFiles } from './process/temp-sweep.js';
export { WatcherService } from './jobs/watcher-service.js';
