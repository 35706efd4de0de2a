// One daemon per state dir: STATE/trivy-mirror.lock holds the holder's pid, host, boot id and process
// start time, touched every minute. A lock 5 min untouched is taken over whatever its pid says (after a
// reboot or a container restart its pid may name another live process), and so is one whose pid is
// dead or belongs to another process (boot id, start time); a live one stops start-up with STATE_DIR_LOCKED.
// Destinations may be shared between daemons; a state dir (store, sync state) may not.
import { hostname } from 'node:os';
import { readFileSync, unlinkSync } from 'node:fs';
import { readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, removeLockLeftovers, takeOverStaleLock, writeNewFileIfAbsent } from '@trivy-mirror/oci/fs';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { ownIdentity, type ProcessIdentity, sameProcess } from './process-identity.js';

export const STATE_LOCK_FILE = 'trivy-mirror.lock';
/** The holder touches its lock this often... */
const HEARTBEAT_MS = 60_000;
/** ...so a lock untouched this long is stale, whoever's pid it names. */
const STALE_MS = 5 * HEARTBEAT_MS;

interface LockContent extends ProcessIdentity {
  pid: number;
  host: string;
  since: string;
}

export interface StateLock {
  path: string;
  /** Holder of a stale lock that was taken over, if any. */
  tookOverFrom?: LockContent;
  /** Synchronous: it runs right before process.exit. */
  release(): void;
}

// locks this process holds: a second runtime in one process (tests) must not take one over
const held = new Set<string>();

export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const path = join(stateDir, STATE_LOCK_FILE);
  const mine: LockContent = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...ownIdentity(),
  };
  let tookOverFrom: LockContent | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, mine)) {
      held.add(path);
      // a daemon killed while it took the lock leaves its temp (or aside) file beside it
      await removeLockLeftovers(stateDir, STATE_LOCK_FILE);
      const beat = setInterval(
        () => void utimes(path, new Date(), new Date()).catch(() => undefined),
        HEARTBEAT_MS,
      );
      beat.unref();
      return {
        path,
        tookOverFrom,
        release: () => {
          clearInterval(beat);
          release(path);
        },
      };
    }
    const holder = await readLock(path);
    if (!holder) continue; // released meanwhile (or unreadable junk we just removed)
    if (await isLive(holder, path)) {
      throw new MirrorError(
        'STATE_DIR_LOCKED',
        `state dir ${stateDir} is in use by another trivy-mirror daemon (pid ${holder.pid} on ${holder.host}, since ${holder.since}); lock file ${path}. Give each daemon its own stateDir; they may share destinations.`,
      );
    }
    // stale: removed, unless it turned out to be a fresh lock of someone else
    const removed = await takeOverStaleLock(path, async (aside) => {
      const moved = await readLock(aside);
      return !moved || moved.pid === holder.pid;
    });
    if (removed) tookOverFrom = holder;
  }
  throw new MirrorError('STATE_DIR_LOCKED', `cannot take the lock file ${path}: it keeps changing`);
}

async function createExclusive(path: string, content: LockContent): Promise<boolean> {
  try {
    return await writeNewFileIfAbsent(path, `${JSON.stringify(content)}\n`);
  } catch (err) {
    throw new MirrorError('STATE_DIR_LOCK_FAILED', `cannot create the lock file ${path}`, { cause: err });
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  // a bare pid, as other tools write them, or our JSON
  const pid = typeof parsed === 'number' ? parsed : (parsed as Partial<LockContent> | undefined)?.pid;
  if (Number.isInteger(pid) && (pid as number) > 0) {
    const o = typeof parsed === 'object' ? (parsed as Partial<LockContent>) : {};
    return {
      pid: pid as number,
      host: String(o.host ?? hostname()),
      since: String(o.since ?? ''),
      boot: typeof o.boot === 'string' ? o.boot : undefined,
      start: typeof o.start === 'string' ? o.start : undefined,
    };
  }
  // junk (a crash while writing it): nobody holds it
  return { pid: 0, host: hostname(), since: '' };
}

async function isLive(holder: LockContent, path: string): Promise<boolean> {
  if (holder.pid === process.pid && held.has(path)) return true;
  // Whatever the pid says: its holder stopped touching it (a pid reused after a reboot or a restart).
  const mtime = (await stat(path).catch(() => undefined))?.mtimeMs ?? 0;
  if (Date.now() - mtime >= STALE_MS) return false;
  // Another host's pid cannot be checked (a state dir on shared storage, or a container that got a
  // new hostname on restart): its lock is live while its holder keeps touching it.
  if (holder.host && holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false;
  return pidAlive(holder.pid) && sameProcess(holder.pid, holder);
}

function release(path: string): void {
  if (!held.delete(path)) return;
  try {
    // only our own lock: never one a later daemon took over
    if ((JSON.parse(readFileSync(path, 'utf8')) as LockContent).pid === process.pid) unlinkSync(path);
  } catch {
    // gone already, or not ours
  }
}
