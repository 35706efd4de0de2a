// An htpasswd file with bcrypt entries only, re-read when it changes (mtime/size), so adding or
// removing a user needs no restart. A file that turns invalid locks everyone out (fail closed).
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, type Logger } from '@trivy-mirror/plugin-api';
import { CONFIG_PATH } from '../config.js';

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const KEY = `${CONFIG_PATH}.serve.htpasswd`;

/** user → bcrypt hash. Throws ConfigError naming the file and line for anything but bcrypt. */
export function parseHtpasswd(text: string, file: string): Map<string, string> {
  const users = new Map<string, string>();
  const issues: { path: string; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = colon > 0 ? line.slice(colon + 1) : '';
    if (!user) {
      issues.push({ path: KEY, message: `${file} line ${i + 1}: expected user:hash` });
    } else if (!BCRYPT.test(hash)) {
      // Never echo the hash: name the user and the line only.
      issues.push({
        path: KEY,
        message: `${file} line ${i + 1} (user ${user}): only bcrypt entries ($2y$, $2a$, $2b$) are supported; create them with \`htpasswd -B\``,
      });
    } else {
      users.set(user, hash);
    }
  });
  if (issues.length > 0) {
    throw new ConfigError(`${KEY}: ${issues.map((i) => i.message).join('; ')}`, issues);
  }
  return users;
}

function commonCost(hashes: Iterable<string>): number {
  const counts = new Map<number, number>();
  for (const hash of hashes) {
    const c = Number(hash.slice(4, 6));
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best = 5;
  let most = 0;
  for (const [c, n] of counts) if (n > most) [best, most] = [c, n];
  return best;
}

export interface HtpasswdFileOptions {
  logger: Logger;
  /** Look at the file's mtime at most this often (default 1000 ms). */
  checkIntervalMs?: number;
  now?: () => number;
}

export class HtpasswdFile {
  readonly path: string;
  readonly #logger: Logger;
  readonly #checkIntervalMs: number;
  readonly #now: () => number;
  #users = new Map<string, string>();
  #cost = 5;
  #stamp = '';
  #nextCheck = 0;
  /** Bumped on each reload, so caches of verified passwords can be dropped. */
  generation = 0;

  constructor(path: string, options: HtpasswdFileOptions) {
    this.path = path;
    this.#logger = options.logger;
    this.#checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Reads the file now; throws ConfigError when it is missing or invalid (used at start-up). */
  async load(): Promise<void> {
    let stamp: string;
    let text: string;
    try {
      const info = await stat(this.path);
      stamp = `${info.mtimeMs}:${info.size}`;
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`;
      throw new ConfigError(`${KEY}: ${this.path}: ${why}`, [{ path: KEY, message: `${this.path}: ${why}` }]);
    }
    this.#users = parseHtpasswd(text, this.path);
    this.#cost = commonCost(this.#users.values());
    this.#stamp = stamp;
    this.#nextCheck = this.#now() + this.#checkIntervalMs;
    this.generation++;
  }

  /** The hash for `user`, after re-reading the file if it changed. */
  async hashOf(user: string): Promise<string | undefined> {
    await this.#refresh();
    return this.#users.get(user);
  }

  get userCount(): number {
    return this.#users.size;
  }

  /**
   * The bcrypt cost most entries use (`htpasswd -B` writes 5): an unknown user is checked at this
   * cost, so that timing does not tell which names exist.
   */
  get cost(): number {
    return this.#cost;
  }

  async #refresh(): Promise<void> {
    if (this.#now() < this.#nextCheck) return;
    this.#nextCheck = this.#now() + this.#checkIntervalMs;
    let stamp = '';
    try {
      const info = await stat(this.path);
      stamp = `${info.mtimeMs}:${info.size}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return;
    try {
      await this.load();
      this.#logger.info({ file: this.path, users: this.#users.size }, 'htpasswd reloaded');
    } catch (err) {
      this.#users = new Map();
      this.#stamp = stamp;
      this.generation++;
      this.#logger.error({ err, file: this.path }, 'htpasswd invalid after change; denying all Basic logins');
    }
  }
}
