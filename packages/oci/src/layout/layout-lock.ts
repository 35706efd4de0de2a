// The cross-process lock of a layout's index.json: LAYOUT/index.json.lock, created whole (a hard link
// of a written file, so it always names its holder) and held for one read-modify-write of index.json
// (or one collection). A daemon, a one-shot `sync`, `import` and `store prune` may work on one store
// at once; each writes index.json atomically, but two that read it, add a tag and rename their copy
// over it would lose one of the tags without this lock.
// The in-process mutex still orders the callers of one process; this orders the processes.
import { hostname } from 'node:os';
import { readFile, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OciError, OciErrorCode } from '../errors.js';
import { pidAlive, takeOverStaleLock, writeNewFileIfAbsent } from '../fs.js';
import { type KeyedMutex, mutexFor } from '../mutex.js';

export const LAYOUT_LOCK_FILE = 'index.json.lock';
/** The holder touches the lock this often while it holds it (a long collection)... */
const HEARTBEAT_MS = 20_000;
/** ...so a lock untouched this long is stale: its holder died, or is on another host and gone. */
export const LAYOUT_LOCK_STALE_MS = 6 * HEARTBEAT_MS;
/** A waiter gives up after this long: no update holds the lock for minutes. */
const WAIT_LIMIT_MS = 5 * 60_000;

interface Holder {
  pid: number;
  host: string;
  token: string;
}

export interface LayoutLockOptions {
  /** How long to wait for another process's lock before LAYOUT_LOCKED (default 5 min). */
  waitMs?: number;
}

/**
 * The mutex of layout `dir` (absolute): callers in this process in turn, each under the lock file.
 * `inProcess` alone orders this process's callers and writes nothing (for work that changes nothing).
 */
export function layoutMutex(dir: string): KeyedMutex & { inProcess: KeyedMutex } {
  const inProcess = mutexFor(dir);
  return {
    inProcess,
    runExclusive: (fn) => inProcess.runExclusive(() => withLayoutLock(dir, async () => fn())),
  };
}

/** Runs `fn` while this process holds `dir`'s index lock; waits while another process holds it. */
export async function withLayoutLock<T>(
  dir: string,
  fn: () => Promise<T>,
  options: LayoutLockOptions = {},
): Promise<T> {
  const path = join(dir, LAYOUT_LOCK_FILE);
  const mine: Holder = {
    pid: process.pid,
    host: hostname(),
    token: `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
  };
  const deadline = Date.now() + (options.waitMs ?? WAIT_LIMIT_MS);
  let pause = 2;
  for (;;) {
    if (await create(path, mine)) break;
    const holder = await read(path);
    if (holder === 'gone') continue;
    if (await stale(path, holder)) {
      await takeOver(path, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new OciError(
        OciErrorCode.LAYOUT_LOCKED,
        `${path} is held by pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}: another trivy-mirror process is updating this layout's index.json; remove the file if no such process runs`,
        { target: dir },
      );
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 100);
  }
  const beat = setInterval(
    () => void utimes(path, new Date(), new Date()).catch(() => undefined),
    HEARTBEAT_MS,
  );
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    // only our own: a waiter that judged us stale may hold it by now
    const now = await read(path);
    if (now !== 'gone' && now?.token === mine.token) await unlink(path).catch(() => undefined);
  }
}

async function create(path: string, holder: Holder): Promise<boolean> {
  try {
    return await writeNewFileIfAbsent(path, JSON.stringify(holder));
  } catch (err) {
    throw new OciError(OciErrorCode.LAYOUT_INVALID, `cannot create the lock file ${path}`, {
      target: path,
      cause: err,
    });
  }
}

/** The holder; undefined when the file names none (junk: it is created whole); 'gone' when absent. */
async function read(path: string): Promise<Holder | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (Number.isInteger(h.pid) && typeof h.host === 'string' && typeof h.token === 'string')
      return h as Holder;
  } catch {
    // the remains of a power loss, or someone else's file
  }
  return undefined;
}

async function stale(path: string, holder: Holder | undefined): Promise<boolean> {
  const mtime = (await stat(path).catch(() => undefined))?.mtimeMs;
  if (mtime === undefined) return false; // gone: the next create decides
  if (holder === undefined || Date.now() - mtime > LAYOUT_LOCK_STALE_MS) return true;
  // A dead holder on this host is certain; another host's is judged by the age alone.
  return holder.host === hostname() && holder.pid !== process.pid && !pidAlive(holder.pid);
}

/** Removes a stale lock, unless someone else replaced it meanwhile (then it is put back). */
async function takeOver(path: string, holder: Holder | undefined): Promise<void> {
  await takeOverStaleLock(path, async (aside) => {
    const moved = await read(aside);
    return moved !== 'gone' && moved?.token === holder?.token;
  });
}
