// Where the admin listener is, found without loading the runtime (node built-ins only): `run`'s
// stand-in /healthz and `status` need only admin.listen, and loading the runtime and every plugin to
// validate a whole config costs most of a second on a busy host.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_CONFIG_PATH = '/etc/trivy-mirror/config.yaml';
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9180';

/** The config file named by `--config` in `args`, else $TRIVY_MIRROR_CONFIG, else the default path. */
export function configPathFrom(args: string[], env: NodeJS.ProcessEnv): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '-c' || a === '--config') && args[i + 1]) return args[i + 1]!;
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return env.TRIVY_MIRROR_CONFIG || DEFAULT_CONFIG_PATH;
}

/** admin.listen from the YAML text, for the two usual spellings; undefined when unsure. */
export function adminListenFromYaml(text: string): string | undefined {
  const unquote = (v: string) => v.trim().replace(/^(['"])(.*)\1$/, '$2');
  const flow = /^admin:[ \t]*\{([^}\n]*)\}/m.exec(text);
  if (flow) {
    const m = /(?:^|,)\s*listen:\s*([^,}]+)/.exec(flow[1]!);
    return m ? unquote(m[1]!) : DEFAULT_ADMIN_LISTEN;
  }
  const block = /^admin:[ \t]*(?:#.*)?\n((?:[ \t]+.*\n?|[ \t]*\n)*)/m.exec(text);
  if (block) {
    const m = /^[ \t]+listen:[ \t]*([^\s#]+)/m.exec(block[1]!);
    return m ? unquote(m[1]!) : DEFAULT_ADMIN_LISTEN;
  }
  return /^admin:/m.test(text) ? undefined : DEFAULT_ADMIN_LISTEN;
}

export function parseHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[3]) > 65535) return undefined; // the config check says why
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/**
 * admin.listen from the env override or the config file, without validating the config; undefined
 * when the file cannot be read or the YAML is too unusual for the quick reader (then load it fully).
 */
export function quickAdminListen(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const override = env.TRIVY_MIRROR_ADMIN_LISTEN || env.TRIVY_MIRROR__ADMIN__LISTEN;
  if (override) return override;
  const named = configPath ?? (env.TRIVY_MIRROR_CONFIG || undefined);
  const file = resolve(named ?? DEFAULT_CONFIG_PATH);
  if (named === undefined && !existsSync(file)) return DEFAULT_ADMIN_LISTEN;
  try {
    return adminListenFromYaml(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
