// The project's error hierarchy: every error carries a stable `code` and, where there is one, a `cause`.

export class MirrorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MirrorError';
    this.code = code;
  }
}

/** Config that fails validation; `issues` name YAML paths (and lines when known). */
export class ConfigError extends MirrorError {
  readonly issues: { path: string; message: string; line?: number; column?: number }[];
  constructor(
    message: string,
    issues: { path: string; message: string; line?: number; column?: number }[] = [],
    cause?: unknown,
  ) {
    super('CONFIG_INVALID', message, { cause });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** A plugin that cannot be loaded or started. */
export class PluginError extends MirrorError {
  readonly plugin: string;
  constructor(plugin: string, message: string, cause?: unknown) {
    super('PLUGIN_FAILED', `plugin ${plugin}: ${message}`, { cause });
    this.name = 'PluginError';
    this.plugin = plugin;
  }
}

/** An artifact that Trivy would reject (layer count, media type, title annotation…). */
export class ArtifactInvalidError extends MirrorError {
  constructor(message: string, cause?: unknown) {
    super('ARTIFACT_INVALID', message, { cause });
    this.name = 'ArtifactInvalidError';
  }
}

/** An archive (tar.gz, zip) that is corrupt or hostile. */
export class ArchiveInvalidError extends MirrorError {
  constructor(message: string, cause?: unknown) {
    super('ARCHIVE_INVALID', message, { cause });
    this.name = 'ArchiveInvalidError';
  }
}

/** Returns `err.code` when it has one. */
export function errorCode(err: unknown): string | undefined {
  if (
    err &&
    typeof err === 'object' &&
    'code' in err &&
    typeof (err as { code: unknown }).code === 'string'
  ) {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** The message, followed by the chain of causes: "a: b: c". Never includes stacks. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; cur !== undefined && cur !== null && i < 6; i++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    // A system error an outer message already names by its code ("connection refused
    // (ECONNREFUSED)") would only say it again: "connect ECONNREFUSED 127.0.0.1:1".
    const code = i > 0 ? errorCode(cur) : undefined;
    const restated = code !== undefined && parts.some((p) => p.includes(`(${code})`));
    if (!restated && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
