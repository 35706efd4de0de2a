// bcrypt off the main thread: the worker pool answers, refuses work beyond its queue ('busy'), keeps the
// event loop free while it hashes, and unknown users are checked at the htpasswd file's own cost.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BcryptPool,
  dummyHash,
  HtpasswdFile,
  HtpasswdTokenAuthenticator,
  SecretReader,
} from '@trivy-mirror/auth-providers';
import bcrypt from 'bcryptjs';
import { basicHeader, memoryLogger, tempDir } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir('bcrypt-pool-'));
});
after(async () => cleanup());

function req(authorization: string): IncomingMessage {
  return { headers: { authorization } } as IncomingMessage;
}

describe('bcrypt pool', () => {
  test('workers answer matches and mismatches; a malformed hash matches nothing', async () => {
    const pool = new BcryptPool({ logger: memoryLogger().logger, size: 2 });
    try {
      const hash = bcrypt.hashSync('pw', 4);
      const answers = await Promise.all([
        pool.compare('pw', hash),
        pool.compare('nope', hash),
        pool.compare('pw', hash.replace('$2b$', '$2y$')),
        pool.compare('pw', '$2b$04$short'),
      ]);
      assert.deepEqual(answers, [true, false, true, false]);
    } finally {
      await pool.close();
    }
  });

  test('beyond its queue it answers busy at once; the main thread stays free while workers hash', async () => {
    const pool = new BcryptPool({ logger: memoryLogger().logger, size: 1, maxQueue: 3 });
    try {
      const hash = bcrypt.hashSync('pw', 10);
      const checks = Array.from({ length: 6 }, () => pool.compare('guess', hash));
      // 1 in the worker, 3 queued, 2 refused.
      assert.equal(pool.queued, 3);
      // The event loop turns while the worker hashes (four cost-10 checks: ~300 ms of its CPU).
      const lags: number[] = [];
      const probe = setInterval(() => {
        const t = performance.now();
        setImmediate(() => lags.push(performance.now() - t));
      }, 5);
      const answers = await Promise.all(checks);
      clearInterval(probe);
      assert.deepEqual(answers, [false, false, false, false, 'busy', 'busy']);
      assert.ok(lags.length >= 10, `the loop turned ${lags.length} times`);
      assert.ok(Math.max(...lags) < 50, `longest stall ${Math.max(...lags).toFixed(1)} ms`);
    } finally {
      await pool.close();
    }
  });

  test('inline (no worker): one check at a time, same answers', async () => {
    const pool = new BcryptPool({ logger: memoryLogger().logger, inline: true, maxQueue: 1 });
    const hash = bcrypt.hashSync('pw', 4);
    assert.deepEqual(
      await Promise.all([pool.compare('pw', hash), pool.compare('x', hash), pool.compare('pw', hash)]),
      [true, false, 'busy'],
    );
  });

  test('unknown users are checked against a dummy hash at the file cost, once per parallel login', async () => {
    assert.equal(dummyHash(5).slice(0, 7), '$2b$05$');
    assert.equal(dummyHash(12).slice(0, 7), '$2b$12$');
    const file = join(dir, 'htpasswd');
    await writeFile(
      file,
      `a:${bcrypt.hashSync('a', 5)}\nb:${bcrypt.hashSync('b', 5)}\nc:${bcrypt.hashSync('c', 7)}\n`,
    );
    const log = memoryLogger().logger;
    const htpasswd = new HtpasswdFile(file, { logger: log });
    await htpasswd.load();
    assert.equal(htpasswd.cost, 5, 'the cost most entries use');
    const pool = new BcryptPool({ logger: log, size: 1 });
    const hashes: string[] = [];
    const original = pool.compare;
    pool.compare = (password: string, hash: string) => {
      hashes.push(hash);
      return original.call(pool, password, hash);
    };
    const auth = new HtpasswdTokenAuthenticator({
      htpasswd,
      pool,
      reader: new SecretReader({ logger: log }),
      logger: log,
    });
    try {
      assert.equal(await auth.authenticate(req(basicHeader('nobody', 'x'))), 'denied');
      assert.equal(hashes.at(-1)!.slice(0, 7), '$2b$05$');
      const same = await Promise.all(
        Array.from({ length: 5 }, () => auth.authenticate(req(basicHeader('a', 'a')))),
      );
      assert.deepEqual(same, Array(5).fill('granted'));
      assert.equal(hashes.length, 2, 'five parallel requests of one login: one check');
      // Timing: an unknown user costs what a known one does (cost 5 both: ~2-3 ms, not a cost-10 ~70 ms).
      const time = async (user: string) => {
        const t = performance.now();
        for (let i = 0; i < 10; i++) await auth.authenticate(req(basicHeader(user, `wrong-${i}`)));
        return (performance.now() - t) / 10;
      };
      await time('b');
      const known = await time('b');
      const unknown = await time('nobody');
      assert.ok(unknown < known * 3 + 5, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
      assert.ok(unknown < 30, `unknown user check ${unknown.toFixed(1)} ms: at the file's cost 5`);
    } finally {
      await pool.close();
    }
  });
});
