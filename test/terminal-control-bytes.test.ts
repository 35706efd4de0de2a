// End to end: a registry whose error bodies carry terminal control sequences (a window title, clear
// screen, colours, \r, backspace, a bell, DEL, an 8-bit CSI) cannot drive the operator's terminal
// through `sync` or `copy`: off a terminal no control byte but \n and \t comes out, on one (a pty from
// util-linux script) the pretty logs and the result lines show them escaped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type FaultProxy,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { daemonBin, runCli } from './helpers/daemon-process.js';
import { tempDir } from './helpers/oci-e2e.js';

const execFileP = promisify(execFile);

// OSC window title + bell, clear screen, bold red, carriage return, backspace, DEL, C1 CSI
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u001b[1;31mdenied\r\b\u007f\u009b5m gone';

/** Control characters a terminal would act on: C0 but \t and \n, DEL, C1. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function assertNoControl(text: string, what: string): void {
  const m = CONTROL.exec(text);
  assert.equal(
    m,
    null,
    `${what} has U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m?.index}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 80), (m?.index ?? 0) + 40))}`,
  );
}

describe('control bytes from upstreams never reach the terminal (e2e)', { timeout: 120_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let cfg: string;

  before(async () => {
    work = await tempDir('control-bytes');
    registry = await startRegistry();
    for (const [kind, tag] of [
      ['trivy-db', '2'],
      ['trivy-java-db', '1'],
    ] as const) {
      const a = await generateArtifact({ kind, dbBytes: 16 * 1024, seed: 'control', workDir: work.dir });
      await pushArtifact(registry.url, `aquasec/${kind}`, tag, a);
    }
    proxy = await startFaultProxy({
      upstream: registry.url,
      fault: (req) => {
        // HEAD answers carry no body: the manifest GET that follows gets the hostile one
        if (req.method !== 'GET' || !req.url?.includes('/manifests/')) return undefined;
        // trivy-db: a hostile message; trivy-java-db: a hostile error code too
        const java = req.url.includes('trivy-java-db');
        const errors = [{ code: java ? `MANIFEST_UNKNOWN${HOSTILE}` : 'DENIED', message: HOSTILE }];
        return {
          kind: 'status',
          status: java ? 404 : 403,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ errors }),
        };
      },
    });
    cfg = join(work.dir, 'config.yaml');
    await writeFile(
      cfg,
      [
        `stateDir: ${join(work.dir, 'state')}`,
        'admin: { listen: 127.0.0.1:0 }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        '  oci-sync:',
        `    sources: [${proxy.host}/aquasec]`,
        '    artifacts: [{ name: trivy-db, tags: ["2"] }, { name: trivy-java-db, tags: ["1"] }]',
        '  vexhub-mirror: { repositories: [] }',
        '  cache-populator: { targets: [] }',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await work?.remove();
  });

  test('sync and copy off a terminal: the upstream text is there, escaped, and no control byte', async () => {
    const sync = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    assert.equal(sync.code, 1, sync.stdout + sync.stderr);
    assert.ok(
      proxy.log.some((e) => e.status === 403),
      'the hostile answer was served',
    );
    assertNoControl(sync.stdout, 'sync stdout');
    assertNoControl(sync.stderr, 'sync stderr');
    // the operator still reads what the registry said
    assert.ok(
      sync.stdout.includes('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[1;31mdenied\\x0d\\x08\\x7f\\x9b5m gone'),
      sync.stdout,
    );

    const verbose = await runCli(['sync', '--config', cfg, '--only', 'oci-sync', '--verbose', '--json']);
    assert.equal(verbose.code, 1);
    assertNoControl(verbose.stdout, 'sync --json stdout');
    assertNoControl(verbose.stderr, 'sync --verbose stderr (JSON logs)');

    const copy = await runCli(['copy', `${proxy.host}/aquasec/trivy-db:2`, `oci-layout:${work.dir}/copy:2`]);
    assert.equal(copy.code, 1);
    assert.match(copy.stderr, /^trivy-mirror: .*\\x1b\]0;pwned\\x07/m);
    assertNoControl(copy.stdout + copy.stderr, 'copy output');
  });

  test('sync on a terminal: pretty logs and result lines show the sequences escaped', async () => {
    for (const extra of [[], ['--verbose']]) {
      const cmd = [process.execPath, daemonBin, 'sync', '--config', cfg, '--only', 'oci-sync', ...extra]
        .map((a) => `'${a}'`)
        .join(' ');
      const tty = await execFileP('script', ['-qec', cmd, '/dev/null'], {
        env: { ...process.env, NO_COLOR: '1' },
      }).then(
        () => assert.fail('sync exited 0'),
        (err: { stdout?: string }) => err.stdout ?? '',
      );
      const what = `sync ${extra.join(' ')} on a pty`;
      // the pty turns \n into \r\n, and our own progress bar and colours use ESC [ … : neither is the
      // registry's. What it sent must not be there raw.
      for (const raw of ['\u0007', '\u001b]', '\u001b[2J', '\u001b[1;31m', '\b', '\u007f', '\u009b'])
        assert.ok(
          !tty.includes(raw),
          `${what} passes ${JSON.stringify(raw)} through:\n${JSON.stringify(tty)}`,
        );
      assert.ok(tty.includes('\\x1b[2J'), `${what} shows the sequence escaped:\n${tty}`);
      if (extra.length) assert.match(tty, /job failed/, `${what} has the pretty log lines`);
    }
  });
});
