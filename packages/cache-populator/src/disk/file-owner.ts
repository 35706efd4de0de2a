// Resolves the configured owner (names or ids) and applies owner and modes to what we write.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MirrorError } from '@trivy-mirror/plugin-api';

const run = promisify(execFile);

export interface OwnerSpec {
  user?: string | number;
  group?: string | number;
}

export interface ResolvedOwner {
  uid?: number;
  gid?: number;
}

async function resolveId(
  kind: 'user' | 'group',
  value: string | number | undefined,
): Promise<number | undefined> {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (/^[0-9]+$/.test(value)) return Number(value);
  try {
    if (kind === 'user') {
      const { stdout } = await run('id', ['-u', '--', value]);
      return Number(stdout.trim());
    }
    // getent covers /etc/group and NSS sources (LDAP, sssd) alike.
    const { stdout } = await run('getent', ['group', value]);
    const gid = stdout.split(':')[2];
    if (gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  } catch (err) {
    throw new MirrorError('OWNER_UNKNOWN', `${kind} "${value}" does not exist on this host`, { cause: err });
  }
  throw new MirrorError('OWNER_UNKNOWN', `${kind} "${value}" does not exist on this host`);
}

export async function resolveOwner(spec: OwnerSpec | undefined): Promise<ResolvedOwner> {
  return { uid: await resolveId('user', spec?.user), gid: await resolveId('group', spec?.group) };
}

export function hasOwner(owner: ResolvedOwner): boolean {
  return owner.uid !== undefined || owner.gid !== undefined;
}

/** lchown without following symlinks; -1 keeps the other id unchanged. */
export async function applyOwner(file: string, owner: ResolvedOwner): Promise<void> {
  if (!hasOwner(owner)) return;
  await fs.lchown(file, owner.uid ?? -1, owner.gid ?? -1);
}

/** Applies owner and modes to a whole tree we wrote (staging), before it becomes visible. */
export async function applyTree(
  root: string,
  owner: ResolvedOwner,
  modes: { file: number; dir: number },
): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(p);
        await fs.chmod(p, modes.dir);
      } else if (entry.isFile()) {
        await fs.chmod(p, modes.file);
      }
      await applyOwner(p, owner);
    }
  };
  await walk(root);
  await fs.chmod(root, modes.dir);
  await applyOwner(root, owner);
}
