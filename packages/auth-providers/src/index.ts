// The auth-providers plugin: registry and HTTP credentials in (static, docker config, anonymous),
// access control for the serving listener out (htpasswd bcrypt, static bearer tokens).
import { definePlugin } from '@trivy-mirror/plugin-api';
import { authProvidersModule } from './auth-providers-module.js';
import { type AuthProvidersConfig, authProvidersConfigSchema, EXAMPLE_CONFIG } from './config.js';

export { AnonymousProvider } from './providers/anonymous-provider.js';
export { AuthHealthCheck } from './auth-health-check.js';
export { AuthLifecycle } from './auth-lifecycle.js';
export { BCRYPT_WORKER_ASSET, BcryptPool, type BcryptPoolOptions } from './serve/bcrypt-pool.js';
export {
  type AuthProvidersParts,
  authProvidersModule,
  createAuthProviders,
  ORDER_BASE,
  ORDER_STEP,
} from './auth-providers-module.js';
export { AuthClientConfig } from './client-config.js';
export {
  type AuthProvidersConfig,
  authProvidersConfigSchema,
  type CredentialEntry,
  PROVIDER_KINDS,
  type ProviderKind,
  type ServeAuthConfig,
} from './config.js';
export { createCredentialResolver, createCredentialStore } from './providers/credential-chain.js';
export { type CredentialHelperOptions, credentialHelperGet } from './providers/credential-helper.js';
export { CredentialUsage, recordingProvider } from './providers/credential-usage.js';
export {
  DockerConfigProvider,
  type DockerConfigProviderOptions,
} from './providers/docker-config-provider.js';
export { CredentialError, CredentialErrorCode } from './errors.js';
export { HtpasswdFile, parseHtpasswd } from './serve/htpasswd.js';
export { loadedSecrets, REDACTED, redactSecrets, SecretRegistry } from './secrets/redact.js';
export { hostOfAuthKey, normalizeRegistryHost } from './providers/registry-host.js';
export { SecretReader, type SecretRef } from './secrets/secret-reader.js';
export { dummyHash, HtpasswdTokenAuthenticator } from './serve/serve-authenticator.js';
export { StaticCredentialProvider } from './providers/static-provider.js';

export default definePlugin<AuthProvidersConfig>({
  id: 'auth-providers',
  description:
    'Credentials for registries and HTTP sources (static, docker config, credential helpers); auth for clients.',
  configSchema: authProvidersConfigSchema,
  exampleConfig: EXAMPLE_CONFIG,
  // Credentials and access control serve the other plugins: on its own it does nothing.
  idleReason: () => 'it only serves the other plugins',
  module: (config, context) => authProvidersModule(config, context),
});
