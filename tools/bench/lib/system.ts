// Machine-level helpers: flush dirty pages before a timed run (so one run's writeback does not land in
// the next run's time), time an fsync, find a process by its command line, and read tool versions.
import { execFile } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** `sync(1)`: write back dirty pages now. */
export async function flushDisks(): Promise<void> {
  await exec('sync').catch(() => undefined);
}

/** fsync(2) of `file`, timed (ms): what making a just-written file durable costs. */
export async function timedFsync(file: string): Promise<number> {
  const started = performance.now();
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return performance.now() - started;
}

/**
 * Drops `file`'s clean pages from the page cache (GNU dd's `iflag=nocache count=0`, i.e.
 * posix_fadvise DONTNEED), so a process started next maps it as after a boot. A just-written file's
 * page cache makes the kernel map ~20 MB more of it around each fault. False when dd refused.
 */
export async function dropFromPageCache(file: string): Promise<boolean> {
  return exec('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).then(
    () => true,
    () => false,
  );
}

/** The first process whose command line contains `needle` (e.g. a registry's config path). */
export async function findPidByCmdline(needle: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      // Skip the watchdog shell (`sh -c …`): we want the registry binary itself.
      if (cmdline.includes(needle) && !cmdline.startsWith('sh ')) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** First line of `CMD --version`, or 'unknown'. */
export async function toolVersion(cmd: string, args: string[] = ['--version']): Promise<string> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { timeout: 10_000 });
    return (stdout || stderr).trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
