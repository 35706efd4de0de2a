// Runs a Docker credential helper (`docker-credential-NAME get`, server URL on stdin, JSON on stdout).
// Its output holds secrets, so neither stdout nor stderr ever reaches a log line or an error message.
import { spawn } from 'node:child_process';
import type { RegistryCredential } from '@trivy-mirror/oci';
import { CredentialError, CredentialErrorCode } from '../errors.js';
import { loadedSecrets, type SecretRegistry } from '../secrets/redact.js';

export interface CredentialHelperOptions {
  /** Kill the helper after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Environment for the helper (default process.env at call time; PATH decides which helper runs). */
  env?: NodeJS.ProcessEnv;
  secrets?: SecretRegistry;
}

const MAX_OUTPUT = 64 * 1024;

/** What docker-credential-helpers print when they hold nothing for the server. */
function isNotFound(output: string): boolean {
  return /credentials not found/i.test(output);
}

/**
 * Asks `docker-credential-<helper>` for `serverUrl`. Undefined when the helper has no credentials for it.
 * Username `<token>` means the Secret is an identity (refresh) token.
 */
export async function credentialHelperGet(
  helper: string,
  serverUrl: string,
  options: CredentialHelperOptions = {},
): Promise<RegistryCredential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new CredentialError(
      CredentialErrorCode.CREDENTIAL_HELPER_FAILED,
      `credential helper name ${JSON.stringify(helper)} is not valid`,
    );
  }
  const program = `docker-credential-${helper}`;
  const timeoutMs = options.timeoutMs ?? 5000;
  const fail = (why: string) =>
    new CredentialError(
      CredentialErrorCode.CREDENTIAL_HELPER_FAILED,
      `credential helper ${program} for ${serverUrl}: ${why}`,
    );

  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(program, ['get'], {
        env: options.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
        // Its own process group, so a timeout also kills whatever the helper started.
        detached: process.platform !== 'win32',
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        try {
          if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
          else child.kill('SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        // A grandchild may still hold the pipes open; do not wait for it.
        child.stdout.destroy();
        child.stderr.destroy();
        child.stdin.destroy();
        reject(fail(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes <= MAX_OUTPUT) out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        errBytes += chunk.length;
        if (errBytes <= MAX_OUTPUT) err.push(chunk);
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(fail(e.code === 'ENOENT' ? 'not found on PATH' : `cannot run (${e.code ?? 'error'})`));
      });
      child.on('close', (exitCode) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          code: exitCode,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      // A helper that exits before reading stdin makes the write fail with EPIPE; the exit code tells.
      child.stdin.on('error', () => {});
      child.stdin.end(serverUrl);
    },
  );

  if (code !== 0) {
    if (isNotFound(stdout) || isNotFound(stderr)) return undefined;
    throw fail(code === null ? 'killed' : `exit code ${code}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    // The parse error would quote the output, which holds the secret.
    throw fail('output is not JSON');
  }
  const obj = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof obj !== 'object' || obj === null || typeof obj.Secret !== 'string' || obj.Secret === '') {
    throw fail('output has no Secret');
  }
  const username = typeof obj.Username === 'string' ? obj.Username : '';
  const secrets = options.secrets ?? loadedSecrets;
  secrets.add(obj.Secret);
  const source = `credential helper ${program}`;
  if (username === '<token>') return { identityToken: obj.Secret, source };
  return { username, password: obj.Secret, source };
}
