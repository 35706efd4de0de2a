// `config check` and `run` (the built CLI) on config files that are no config files: /dev/zero, a FIFO
// with no writer, a file over the size limit: a prompt error naming the file, no hang, no memory blow-up.
// And a stateDir that is a symbolic link to nothing: config check refuses it like run would.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, runCli } from './helpers/daemon-process.js';

describe('config files that are no config files', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-hostile-config-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('/dev/zero, a FIFO and a 2 MiB file: refused at once, naming the file', async () => {
    const fifo = join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const big = join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(2 * 1024 * 1024)}\nstateDir: ${dir}/state\n`);
    for (const [file, why] of [
      ['/dev/zero', /not a regular file/],
      [fifo, /not a regular file/],
      [big, /more than the limit of 1048576/],
    ] as const) {
      for (const args of [
        ['config', 'check', '--config', file],
        ['run', '--config', file],
      ]) {
        const t = Date.now();
        const r = await runCli(args, { timeoutMs: 20_000 });
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(`${r.stdout}${r.stderr}`, why, args.join(' '));
        assert.ok(`${r.stdout}${r.stderr}`.includes(file), args.join(' '));
        assert.ok(Date.now() - t < 15_000, `${args.join(' ')} took ${Date.now() - t} ms`);
      }
    }
  });

  test('a stateDir that is a symbolic link to nothing fails config check', async () => {
    const link = join(dir, 'state-link');
    await symlink(join(dir, 'no-such-dir'), link);
    const cfg = join(dir, 'dangling.yaml');
    await writeFile(cfg, `stateDir: ${link}\nadmin: { listen: 127.0.0.1:${await freePort()} }\n`);
    const r = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /stateDir.*symbolic link to .*no-such-dir, which does not exist/s);
  });
});
