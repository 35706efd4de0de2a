// systemd readiness (Type=notify): when NOTIFY_SOCKET is set we run `systemd-notify` (READY=1 after
// start-up, STOPPING=1 at shutdown). Node has no unix datagram sockets, so a helper binary is the simple
// way; when it is not on PATH (or NOTIFY_SOCKET is unset) we skip silently. Use Type=simple otherwise.
// The message comes from a child process, so the unit needs `NotifyAccess=all` with `Type=notify`.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '@trivy-mirror/plugin-api';

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Sends `READY=1` or `STOPPING=1`; resolves when done (or at once when not under systemd). */
export async function systemdNotify(
  state: 'READY=1' | 'STOPPING=1',
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (!env.NOTIFY_SOCKET) return;
  const bin = onPath('systemd-notify', env);
  if (!bin) return;
  const args = state === 'READY=1' ? ['--ready'] : [state];
  await new Promise<void>((resolve) => {
    const child = spawn(bin, args, { stdio: 'ignore', env });
    const t = setTimeout(() => {
      child.kill();
      resolve();
    }, 2000);
    child.on('error', (err) => {
      log.debug({ err }, 'systemd-notify failed');
      clearTimeout(t);
      resolve();
    });
    child.on('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
