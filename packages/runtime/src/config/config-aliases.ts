// Documented aliases in the config file, rewritten before validation.
//   serve.auth  ->  plugins.auth-providers.serve   (DESIGN's short form for serving-listener access control)
import { ConfigError } from '@trivy-mirror/plugin-api';

export function applyConfigAliases(raw: Record<string, unknown>, source: string): Record<string, unknown> {
  const serve = raw.serve;
  if (!serve || typeof serve !== 'object' || Array.isArray(serve) || !('auth' in serve)) return raw;
  const { auth, ...restServe } = serve as Record<string, unknown>;
  const plugins = (raw.plugins && typeof raw.plugins === 'object' ? raw.plugins : {}) as Record<
    string,
    unknown
  >;
  const authPlugin = (plugins['auth-providers'] ?? {}) as Record<string, unknown>;
  if (authPlugin && typeof authPlugin === 'object' && 'serve' in authPlugin) {
    throw new ConfigError(`${source}: invalid configuration`, [
      {
        path: 'serve.auth',
        message: 'set either serve.auth or plugins.auth-providers.serve (the same setting), not both',
      },
    ]);
  }
  return {
    ...raw,
    serve: restServe,
    plugins: { ...plugins, 'auth-providers': { ...authPlugin, serve: auth } },
  };
}
