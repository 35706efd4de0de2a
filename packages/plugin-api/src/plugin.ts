// What a plugin package exports by default: an id, a config schema and a ContainerModule factory.
import type { ContainerModule } from 'inversify';
import type { ZodType } from 'zod';
import type { Logger } from './logger.js';

/** Facts a plugin gets when its module is built; everything else comes through the container. */
export interface PluginContext {
  /** The plugin's id. */
  id: string;
  /** The daemon's state directory (absolute). A plugin keeps its own files under `pluginDir`. */
  stateDir: string;
  /** `stateDir/plugins/<id>`, created before `module()` is called. */
  pluginDir: string;
  /** A child logger bound to `{ plugin: id }` (the runtime's pino logger, seen through Logger). */
  logger: Logger;
  /** Public base URL of the serving listener (no trailing slash), when one is configured. */
  publicUrl?: string;
  /** Whether the process runs as the daemon, a one-shot CLI command, or the demo. */
  mode: 'daemon' | 'cli' | 'demo';
}

export interface PluginDefinition<C = unknown> {
  /** Also the key of its config section under `plugins:`. Lowercase, dash-separated. */
  id: string;
  description: string;
  /** Checked before anything starts; defaults live in the schema. */
  configSchema: ZodType<C>;
  /** An annotated YAML snippet for `config example` (optional). */
  exampleConfig?: string;
  /**
   * Why this (validated) config gives the plugin nothing to do ("no artifacts"), or undefined when it has
   * work. `config check` warns when every plugin of a config is idle or disabled. Default: never idle.
   */
  idleReason?(config: C): string | undefined;
  module(config: C, context: PluginContext): ContainerModule;
}

/** Helper that keeps the config type attached to the definition. */
export function definePlugin<C>(definition: PluginDefinition<C>): PluginDefinition<C> {
  return definition;
}
