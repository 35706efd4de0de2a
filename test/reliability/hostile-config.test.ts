// Hostile configs: broken YAML, wrong types, unknown keys, inline secrets, bad listen addresses. Each
// is refused by `config check` and by `run` with an error naming the YAML path, exits non-zero, echoes
// no secret and creates nothing; a non-loopback admin listener is accepted with a warning.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/daemon-process.js';
import { SuiteReport } from './lib/report.js';

interface Case {
  name: string;
  yaml: (stateDir: string) => string;
  /** What the error must say (YAML path, reason). */
  expect: RegExp[];
  /** Must never appear in the output (secrets). */
  secret?: string;
}

const CASES: Case[] = [
  {
    name: 'unterminated flow sequence',
    yaml: (s) => `stateDir: ${s}\nplugins:\n  oci-sync: { sources: [a.example/x\n`,
    expect: [/line \d+/],
  },
  {
    name: 'tab indentation and a duplicate key',
    yaml: (s) => `stateDir: ${s}\nstateDir: ${s}-2\n`,
    expect: [/(?:duplicate|unique|Map keys)/i],
  },
  {
    name: 'not a mapping at the top',
    yaml: () => '- just\n- a list\n',
    expect: [/expected|object|mapping/i],
  },
  {
    name: 'wrong types',
    yaml: (s) =>
      `stateDir: ${s}\nplugins:\n  oci-sync:\n    keepVersions: "three"\n    concurrency: -1\n    sources: mirror.gcr.io/aquasec\n`,
    expect: [
      /plugins\.oci-sync\.keepVersions/,
      /plugins\.oci-sync\.concurrency/,
      /plugins\.oci-sync\.sources/,
    ],
  },
  {
    name: 'unknown keys at every level',
    yaml: (s) =>
      `stateDir: ${s}\nadmn: { listen: 127.0.0.1:9 }\nplugins:\n  oci-sync:\n    sorces: [a.example/x]\n  cache-populator:\n    targets: [{ dir: /tmp/x, inclde: [db] }]\n`,
    expect: [/admn/, /plugins\.oci-sync/, /sorces/, /inclde/],
  },
  {
    name: 'inline registry password',
    yaml: (s) =>
      `stateDir: ${s}\nplugins:\n  auth-providers:\n    credentials: [{ host: ghcr.io, username: bot, password: "hunter2-not-for-logs" }]\n`,
    expect: [/plugins\.auth-providers\.credentials\[0\]\.password/, /inline/i],
    secret: 'hunter2-not-for-logs',
  },
  {
    name: 'inline VEX token',
    yaml: (s) =>
      `stateDir: ${s}\nplugins:\n  vexhub-mirror:\n    repositories: [{ name: vexhub, url: "https://vex.example", token: "ghp_supersecret0123456789" }]\n`,
    expect: [/plugins\.vexhub-mirror\.repositories\[0\]\.token/],
    secret: 'ghp_supersecret0123456789',
  },
  {
    name: 'listen address without a port',
    yaml: (s) => `stateDir: ${s}\nadmin: { listen: "127.0.0.1" }\n`,
    expect: [/admin\.listen/],
  },
  {
    name: 'an unknown plugin section',
    yaml: (s) => `stateDir: ${s}\nplugins:\n  oci-sink: {}\n`,
    expect: [/oci-sink/],
  },
  {
    name: 'an external plugin that does not exist',
    yaml: (s) => `stateDir: ${s}\nplugins:\n  external: [{ module: ./no-such-plugin.js }]\n`,
    expect: [/no-such-plugin/],
  },
  {
    name: 'a non-http VEX URL',
    yaml: (s) =>
      `stateDir: ${s}\nplugins:\n  vexhub-mirror:\n    repositories: [{ name: vexhub, url: "file:///etc/passwd" }]\n`,
    expect: [/plugins\.vexhub-mirror\.repositories\[0\]\.url/],
  },
];

describe('reliability: hostile configs are refused and change nothing', () => {
  const report = new SuiteReport('hostile-config');
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trivy-mirror-hostile-config-'));
  });

  after(async () => {
    report.print();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const stateDir = join(dir, `state-${i}`);
      const file = join(dir, `config-${i}.yaml`);
      await writeFile(file, c.yaml(stateDir));
      report.runs++;
      report.faults++;
      const argsList = [
        ['config', 'check', '--config', file],
        ['run', '--config', file],
      ];
      const results = await Promise.all(argsList.map((args) => runCli(args, { timeoutMs: 30_000 })));
      for (const [k, args] of argsList.entries()) {
        const r = results[k];
        const out = r.stdout + r.stderr;
        if (r.code === 0) report.violation(c.name, `${args[0]} accepted it`);
        assert.notEqual(r.code, 0, `${args.join(' ')} accepted ${c.name}:\n${out}`);
        for (const re of c.expect) assert.match(out, re, `${args[0]}: error does not say ${re}:\n${out}`);
        if (c.secret) assert.ok(!out.includes(c.secret), `${args[0]} echoed the secret:\n${out}`);
        // `run` reads the config before anything else: nothing may exist afterwards
        const created = await stat(stateDir).then(
          () => true,
          () => false,
        );
        if (created) report.violation(c.name, `${args[0]} created ${stateDir}`);
        assert.equal(created, false, `${args[0]} created the state dir for ${c.name}`);
      }
      report.recoveries++;
    });
  }

  test('a non-loopback admin listener is accepted with a warning', async () => {
    const file = join(dir, 'config-admin.yaml');
    await writeFile(file, `stateDir: ${join(dir, 'state-admin')}\nadmin: { listen: 0.0.0.0:9 }\n`);
    const r = await runCli(['config', 'check', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /admin\.listen 0\.0\.0\.0:9 is not a loopback address/);
  });
});
