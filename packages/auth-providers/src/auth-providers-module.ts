// Binds the auth-providers contributions: credential providers in the configured order, /status,
// the start-up check, and — only when `serve` is configured — access control and client-config lines.
import {
  ClientConfigContribution,
  CredentialProvider,
  HealthCheck,
  LifecycleContribution,
  type PluginContext,
  ServeAuthenticator,
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { AnonymousProvider } from './providers/anonymous-provider.js';
import { AuthHealthCheck } from './auth-health-check.js';
import { AuthLifecycle } from './auth-lifecycle.js';
import { BcryptPool } from './serve/bcrypt-pool.js';
import { AuthClientConfig } from './client-config.js';
import { type AuthProvidersConfig, CONFIG_PATH } from './config.js';
import { CredentialUsage, recordingProvider } from './providers/credential-usage.js';
import { DockerConfigProvider } from './providers/docker-config-provider.js';
import { HtpasswdFile } from './serve/htpasswd.js';
import { SecretReader, type SecretRef } from './secrets/secret-reader.js';
import { HtpasswdTokenAuthenticator } from './serve/serve-authenticator.js';
import { StaticCredentialProvider } from './providers/static-provider.js';

/** Providers get orders 100, 110, 120… in config order, leaving room for other plugins' providers. */
export const ORDER_BASE = 100;
export const ORDER_STEP = 10;

/** The parts the module binds, built from the config (exported for tests and tools). */
export interface AuthProvidersParts {
  providers: CredentialProvider[];
  health: AuthHealthCheck;
  lifecycle: AuthLifecycle;
  authenticator?: HtpasswdTokenAuthenticator;
  clientConfig?: AuthClientConfig;
  reader: SecretReader;
  usage: CredentialUsage;
}

export function createAuthProviders(
  config: AuthProvidersConfig,
  context: Pick<PluginContext, 'logger'>,
  options: { env?: NodeJS.ProcessEnv } = {},
): AuthProvidersParts {
  const logger = context.logger;
  const reader = new SecretReader({ logger, env: options.env });
  const usage = new CredentialUsage();
  let staticProvider: StaticCredentialProvider | undefined;
  let dockerProvider: DockerConfigProvider | undefined;
  const providers: CredentialProvider[] = [];

  config.order.forEach((kind, index) => {
    const order = ORDER_BASE + ORDER_STEP * index;
    if (kind === 'static') {
      staticProvider = new StaticCredentialProvider(config.credentials, reader, order);
      providers.push(recordingProvider(staticProvider, usage, logger));
    } else if (kind === 'docker-config') {
      if (config.dockerConfig === false) return;
      const dc = config.dockerConfig === true ? {} : config.dockerConfig;
      dockerProvider = new DockerConfigProvider(order, {
        path: dc.path,
        helperTimeoutMs: dc.helperTimeoutMs,
        env: options.env,
      });
      providers.push(recordingProvider(dockerProvider, usage, logger));
    } else {
      providers.push(new AnonymousProvider(order, usage));
    }
  });

  let authenticator: HtpasswdTokenAuthenticator | undefined;
  let clientConfig: AuthClientConfig | undefined;
  let htpasswd: HtpasswdFile | undefined;
  let pool: BcryptPool | undefined;
  const serveRefs: SecretRef[] = [];
  if (config.serve) {
    const serve = config.serve;
    htpasswd = serve.htpasswd ? new HtpasswdFile(serve.htpasswd, { logger }) : undefined;
    serve.tokens.forEach((t, i) => {
      const key = `${CONFIG_PATH}.serve.tokens[${i}]`;
      if (t.file) serveRefs.push({ kind: 'file', name: t.file, key: `${key}.file` });
      else if (t.env) serveRefs.push({ kind: 'env', name: t.env, key: `${key}.env` });
      else if (t.credential)
        serveRefs.push({ kind: 'credential', name: t.credential, key: `${key}.credential` });
    });
    pool = new BcryptPool({ logger });
    authenticator = new HtpasswdTokenAuthenticator({
      htpasswd,
      pool,
      tokens: serveRefs,
      reader,
      logger,
      realm: serve.realm,
    });
    clientConfig = new AuthClientConfig({ basic: htpasswd !== undefined, tokens: serveRefs.length > 0 });
  }

  const health = new AuthHealthCheck({
    providers: providers.map((p) => ({ id: p.id, order: p.order })),
    staticProvider,
    dockerProvider,
    usage,
    serve: config.serve ? { htpasswd, tokens: serveRefs.length, realm: config.serve.realm } : undefined,
  });
  const lifecycle = new AuthLifecycle({
    logger,
    reader,
    refs: [...(staticProvider?.refs() ?? []), ...serveRefs],
    dockerProvider,
    htpasswd,
    pool,
    providers: providers.map((p) => p.id),
  });
  return { providers, health, lifecycle, authenticator, clientConfig, reader, usage };
}

export function authProvidersModule(config: AuthProvidersConfig, context: PluginContext): ContainerModule {
  return new ContainerModule(({ bind }) => {
    const parts = createAuthProviders(config, context);
    for (const provider of parts.providers) bind(CredentialProvider).toConstantValue(provider);
    bind(HealthCheck).toConstantValue(parts.health);
    bind(LifecycleContribution).toConstantValue(parts.lifecycle);
    if (parts.authenticator) bind(ServeAuthenticator).toConstantValue(parts.authenticator);
    if (parts.clientConfig) bind(ClientConfigContribution).toConstantValue(parts.clientConfig);
  });
}
