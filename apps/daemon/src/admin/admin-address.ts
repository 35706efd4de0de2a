// admin.listen without loading the config (its schema needs every plugin): from the env overrides or
// the YAML text, for the two usual spellings. For the stand-in /healthz of `run` and for `status`,
// which only need the address; anything unusual answers undefined and the caller loads the config.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_CONFIG_PATH = '/etc/trivy-mirror/config.yaml';
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9180';

/** The config path `run` would use: --config, else $TRIVY_MIRROR_CONFIG, else the default. */
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

/** HOST:PORT or [V6]:PORT; undefined for anything else (the config check says why). */
export function parseHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/** A regular file of at most 1 MiB (not /dev/zero, not a FIFO that waits for a writer); else throws. */
function readSmallFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > 1024 * 1024) throw new Error(`${file}: not a small regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * admin.listen from the env overrides, else from the file at `configPath`. A missing default file
 * means the defaults when `missingIsDefault` (what loadConfig does); else undefined when unreadable.
 */
export function quickAdminListen(
  configPath: string,
  env: NodeJS.ProcessEnv,
  missingIsDefault = false,
): string | undefined {
  const fromEnv = env.TRIVY_MIRROR_ADMIN_LISTEN || env.TRIVY_MIRROR__ADMIN__LISTEN;
  if (fromEnv) return fromEnv;
  try {
    return adminListenFromYaml(readSmallFile(resolve(configPath)));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return missing && missingIsDefault && configPath === DEFAULT_CONFIG_PATH
      ? DEFAULT_ADMIN_LISTEN
      : undefined;
  }
}
