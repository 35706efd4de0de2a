// /status for auth-providers: which providers run in which order, which source kind covers each
// configured host, and which provider last answered for each host. Never a secret.
import type { HealthCheck, HealthReport } from '@trivy-mirror/plugin-api';
import type { CredentialUsage } from './providers/credential-usage.js';
import type { DockerConfigProvider } from './providers/docker-config-provider.js';
import type { HtpasswdFile } from './serve/htpasswd.js';
import type { StaticCredentialProvider } from './providers/static-provider.js';

export interface AuthHealthCheckParts {
  providers: { id: string; order: number }[];
  staticProvider?: StaticCredentialProvider;
  dockerProvider?: DockerConfigProvider;
  usage: CredentialUsage;
  serve?: { htpasswd?: HtpasswdFile; tokens: number; realm: string };
}

export class AuthHealthCheck implements HealthCheck {
  readonly id = 'auth-providers';
  readonly #parts: AuthHealthCheckParts;

  constructor(parts: AuthHealthCheckParts) {
    this.#parts = parts;
  }

  async check(): Promise<HealthReport> {
    const { providers, staticProvider, dockerProvider, usage, serve } = this.#parts;
    const status: Record<string, unknown> = {
      providers: providers.map((p) => `${p.id} (order ${p.order})`),
      served: usage.snapshot(),
    };
    if (staticProvider) status.credentials = staticProvider.summary();
    if (dockerProvider) status.dockerConfig = await dockerProvider.summary();
    if (serve) {
      status.serve = {
        realm: serve.realm,
        ...(serve.htpasswd ? { htpasswd: serve.htpasswd.path, users: serve.htpasswd.userCount } : {}),
        tokens: serve.tokens,
      };
    }
    return { ready: true, status };
  }
}
