// `trivy-mirror config example`: an annotated config assembled from the runtime's keys and each plugin's
// `exampleConfig` snippet (written as `<id>:` at column 0, indented here under `plugins:`).
import type { PluginDefinition } from '@trivy-mirror/plugin-api';
import { DEFAULT_ADMIN_LISTEN, DEFAULT_STATE_DIR } from './config-schema.js';

const HEADER = `# trivy-mirror configuration (YAML). Unknown keys are errors; \`trivy-mirror config check\` validates.
# File: --config, else $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml.
# Env overrides: TRIVY_MIRROR_STATE_DIR, TRIVY_MIRROR_ADMIN_LISTEN, TRIVY_MIRROR_SERVE_LISTEN,
# TRIVY_MIRROR_LOG_LEVEL, and TRIVY_MIRROR__A__B=value for any key path (values parsed as YAML).
# Every plugin section takes \`enabled: false\` (the plugin is then not loaded).
`;

const SERVE_COMMENTED = `# serve:                                   # optional: serve Trivy clients
#   listen: 0.0.0.0:8443
#   publicUrl: https://bastion.example:8443
#   tls: { cert: /etc/trivy-mirror/tls.crt, key: /etc/trivy-mirror/tls.key }
#   statusPage: false                      # true: the status page at / here too, behind serve auth`;

function runtimeKeys(serve: string, stateDir = DEFAULT_STATE_DIR): string {
  return `stateDir: ${stateDir}          # store (OCI layouts), VEX copies, plugin state
admin:
  listen: ${DEFAULT_ADMIN_LISTEN}             # status page at /, /healthz /readyz /status /metrics /jobs; loopback
${serve.replace(/\s+$/, '')}
registries: []                             # per-host transport settings, e.g.
#  - { host: registry.internal:5000, plainHttp: false, caFile: /etc/ssl/internal-ca.pem }
log:
  level: info                              # fatal error warn info debug trace silent
  format: auto                             # auto (pretty on a terminal, JSON otherwise) | json | pretty
# signing:                                 # sign each version synced, as cosign does (README: Signing and verifying)
#   keyFile: /etc/trivy-mirror/signing.key # PEM ECDSA P-256, mode 0600: openssl ecparam -name prime256v1 -genkey -noout
#   # keyCredential: signing-key           # or a systemd credential (LoadCredential=signing-key:FILE)
# trust:                                   # inside: check each imported/served version's cosign signature
#   keys: [/etc/trivy-mirror/trusted.pub]  # PEM public keys (cosign.pub, openssl ec -pubout)
#   require: true                          # admit and serve only what they signed (default: only report)
`;
}

/** A deployment's example: its own comments, serve block and plugin sections (others: the plugin's own). */
export interface ExampleProfile {
  name: string;
  /** One line, for --help and the header. */
  summary: string;
  /** Comment lines (without '#') explaining the deployment, printed after the header. */
  intro?: string[];
  /** The `serve:` block (YAML at column 0); default: a commented-out one. */
  serve?: string;
  /** stateDir as YAML (a path, quoted if need be); default: /var/lib/trivy-mirror. */
  stateDir?: string;
  /** Plugin id → its section (`<id>:` at column 0), replacing the plugin's `exampleConfig`. */
  sections?: Record<string, string>;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : pad + l))
    .join('\n');
}

/** The annotated example config: the plugins' own snippets, or a deployment profile's. */
export function configExample(
  plugins: readonly PluginDefinition<unknown>[],
  profile?: ExampleProfile,
): string {
  const sections = plugins.map((p) => {
    const snippet = (profile?.sections?.[p.id] ?? p.exampleConfig)?.trim();
    const head = `# ${p.id}: ${p.description}`;
    if (!snippet) return `${head}\n${p.id}: {}`;
    return snippet.startsWith(`${p.id}:`)
      ? `${head}\n${snippet}`
      : `${head}\n${p.id}:\n${indent(snippet, 2)}`;
  });
  const external = [
    '# external:                              # plugins from npm packages or files (relative to this file)',
    '#   - { module: "@acme/trivy-mirror-plugin-notify", options: { url: https://hooks.example/x } }',
  ];
  const intro = profile
    ? `#\n# Profile "${profile.name}": ${profile.summary}\n${(profile.intro ?? []).map((l) => `#${l ? ` ${l}` : ''}\n`).join('')}`
    : '';
  const head = `${HEADER}${intro}${runtimeKeys(profile?.serve ?? SERVE_COMMENTED, profile?.stateDir)}`;
  return `${head}plugins:\n${sections.map((s) => indent(s, 2)).join('\n\n')}\n\n${indent(external.join('\n'), 2)}\n`;
}
