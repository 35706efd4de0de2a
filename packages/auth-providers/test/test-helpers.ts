// Shared test helpers: temp dirs, a pino logger that writes to memory, and an executable helper script.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';

export interface MemoryLogger {
  logger: pino.Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
}

/** A pino logger whose JSON lines are kept in memory (pino writes synchronously to plain streams). */
export function memoryLogger(): MemoryLogger {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export async function tempDir(
  prefix = 'auth-providers-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a secret file with the given mode (default 0600). */
export async function writeSecret(path: string, value: string, mode = 0o600): Promise<string> {
  await writeFile(path, value, { mode });
  await chmod(path, mode);
  return path;
}

/**
 * Writes `docker-credential-NAME` into `binDir`: a shell script implementing the helper protocol
 * (`get`, server URL on stdin). `body` runs with the server URL in $server.
 */
export async function writeCredentialHelper(binDir: string, name: string, body: string): Promise<string> {
  const path = join(binDir, `docker-credential-${name}`);
  await writeFile(
    path,
    `#!/bin/sh\nset -eu\n[ "$1" = get ] || { echo "unsupported $1" >&2; exit 2; }\nread -r server || true\n${body}\n`,
    {
      mode: 0o755,
    },
  );
  await chmod(path, 0o755);
  return path;
}

/** Runs `fn` with env vars set (undefined deletes), then restores them. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
