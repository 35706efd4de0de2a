// `config check` and `run` agree (the built CLI as a process, real files): every refusal `run` makes,
// `config check` makes too, both with the YAML path and line; unknown keys get "did you mean"; the
// printed example and every profile pass as printed (and client-config takes them); a config that does
// nothing is a warning, not an error; a missing file is missing, not invalid.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, repoRoot, runCli } from './helpers/daemon-process.js';

const PROFILES = ['connected', 'inside', 'cache-only', 'vex-only', 'local'];

const PLAIN_CRON_PLUGIN = `import { Job } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
export default {
  id: 'plain-cron',
  description: 'a job on a schedule taken as a plain string',
  configSchema: z.strictObject({ every: z.string().default('0 * * * *') }),
  module: (config) =>
    new ContainerModule(({ bind }) => {
      bind(Job).toConstantValue({
        id: 'plain-cron', description: 'does nothing', schedule: config.every, runOnStart: false,
        run: async () => ({ status: 'skipped' }),
      });
    }),
};
`;

/** The messages of pino JSON lines (other lines as they are). */
function logText(stdout: string): string {
  return stdout
    .split('\n')
    .map((line) => {
      try {
        return String((JSON.parse(line) as { msg?: unknown }).msg);
      } catch {
        return line;
      }
    })
    .join('\n');
}

describe('config check agrees with run', { timeout: 180_000 }, () => {
  let dir: string;
  let head: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-check-'));
    await writeFile(join(dir, 'a-file'), 'not a directory\n');
    await writeFile(join(dir, 'garbage.pem'), 'not a certificate\n');
    // An external plugin whose schedule is a plain string (no cronExpression()): the scheduler's check
    // finds a bad one, and the path is that of the value in its options.
    await mkdir(join(dir, 'plugin'));
    await symlink(join(repoRoot, 'node_modules'), join(dir, 'plugin', 'node_modules'));
    await writeFile(join(dir, 'plugin', 'plain-cron.mjs'), PLAIN_CRON_PLUGIN);
    head = `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
`;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cases: { name: string; yaml: () => string; expect: RegExp; env?: Record<string, string> }[] = [
    {
      name: 'cron-minute',
      yaml: () => `${head}plugins:
  oci-sync:
    sources: [127.0.0.1:1/aquasec]
    schedule: "99 * * * *"
`,
      expect:
        /plugins\.oci-sync\.schedule \(line 7, column \d+\): invalid cron expression "99 \* \* \* \*": minute: 99 is not a valid value \(0-59, lists, ranges, \*\/N\)/,
    },
    {
      name: 'cron-fields',
      yaml: () => `${head}plugins:
  vexhub-mirror:
    schedule: "every day"
`,
      expect: /plugins\.vexhub-mirror\.schedule \(line 6, column \d+\): invalid cron expression "every day"/,
    },
    {
      name: 'unknown-key',
      yaml: () => `${head}plugins:
  oci-sync:
    keepVersion: 3
`,
      expect:
        /plugins\.oci-sync\.keepVersion \(line 6, column 5\): unknown key "keepVersion" \(did you mean "keepVersions"\?\)/,
    },
    {
      name: 'state-dir',
      yaml: () => head.replace(`${dir}/state`, `${dir}/a-file/state`),
      expect:
        /stateDir \(line 1, column \d+\): [^\n]*a-file\/state cannot be created: a parent of it is a file/,
    },
    {
      name: 'cache-dir',
      yaml: () => `${head}plugins:
  cache-populator: { targets: [{ dir: ${dir}/a-file/cache }] }
`,
      expect: /plugins\.cache-populator\.targets\[0\]\.dir \(line 5, column \d+\): [^\n]*cannot be created/,
    },
    {
      name: 'tls-missing',
      yaml: () => `${head}serve:
  listen: 127.0.0.1:1
  tls: { cert: ${dir}/missing.crt, key: ${dir}/garbage.pem }
`,
      expect: /serve\.tls\.cert \(line 6, column \d+\): cannot read [^\n]*missing\.crt/,
    },
    {
      name: 'tls-invalid',
      yaml: () => `${head}serve:
  listen: 127.0.0.1:1
  tls: { cert: ${dir}/garbage.pem, key: ${dir}/garbage.pem }
`,
      expect: /serve\.tls \(line 6, column \d+\): cert and key are not a valid pair/,
    },
    {
      name: 'secret-file',
      yaml: () => `${head}plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: registry.internal:5000, username: bot, passwordFile: ${dir}/no-such-secret }
`,
      expect:
        /plugins\.auth-providers\.credentials\[0\]\.passwordFile \(line 8, column \d+\): [^\n]*no-such-secret/,
    },
    {
      name: 'secret-env',
      yaml: () => `${head}plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { url: https://github.com/, tokenEnv: TM_TEST_UNSET_TOKEN }
`,
      expect:
        /plugins\.auth-providers\.credentials\[0\]\.tokenEnv \(line 8, column \d+\): environment variable TM_TEST_UNSET_TOKEN is not set/,
    },
    {
      name: 'listen-port',
      yaml: () => head.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:70000'),
      expect: /admin\.listen \(line 2, column \d+\): the port must be 0 to 65535/,
    },
    {
      name: 'listen-host',
      // 192.0.2.0/24 is TEST-NET-1: never an address of this host.
      yaml: () => `${head}serve: { listen: "192.0.2.7:8443" }\n`,
      expect: /serve\.listen \(line 4, column \d+\): 192\.0\.2\.7 is not an address of this host/,
    },
    {
      name: 'external-cron',
      yaml: () => `${head}plugins:
  external:
    - module: ${dir}/plugin/plain-cron.mjs
      options: { every: "61 * * * *" }
`,
      expect:
        /plugins\.external\[0\]\.options\.every \(line 7, column \d+\): plugin plain-cron: job "plain-cron": invalid cron expression "61 \* \* \* \*" \(minute: 61 is not a valid value \(0-59, lists, ranges, \*\/N\)\)/,
    },
    {
      name: 'duplicate-job',
      yaml: () => `${head}plugins:
  external:
    - { module: ${dir}/plugin/plain-cron.mjs, id: first }
    - { module: ${dir}/plugin/plain-cron.mjs, id: second }
`,
      expect: /runtime: plugin second: job id "plain-cron" is contributed twice/,
    },
  ];

  for (const c of cases) {
    test(`${c.name}: config check and run both refuse, with the YAML path and line`, async () => {
      const file = join(dir, `${c.name}.yaml`);
      await writeFile(file, c.yaml());
      const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
      assert.equal(check.code, 1, `config check exited ${check.code}: ${check.stdout}${check.stderr}`);
      assert.match(check.stderr, c.expect);
      const run = await runCli(['run', '--config', file], { timeoutMs: 20_000 });
      assert.equal(run.code, 1, `run exited ${run.code}`);
      assert.match(logText(run.stdout) + run.stderr, c.expect);
      assert.equal(await stat(join(dir, 'state')).catch(() => undefined), undefined, 'nothing started');
    });
  }

  test('config example and every --profile pass config check as printed', async () => {
    const work = join(dir, 'examples');
    await mkdir(work, { recursive: true });
    for (const profile of [undefined, ...PROFILES]) {
      const args = ['config', 'example', ...(profile ? ['--profile', profile] : [])];
      const example = await runCli(args, { timeoutMs: 20_000, cwd: work });
      assert.equal(example.code, 0, example.stderr);
      if (profile) assert.match(example.stdout, new RegExp(`Profile "${profile}"`));
      // local: everything in the folder it was printed in
      if (profile === 'local') {
        assert.ok(example.stdout.includes(`stateDir: "${work}/trivy-mirror-state"`), example.stdout);
        assert.ok(example.stdout.includes(`- dir: "${work}/trivy-cache"`), example.stdout);
      }
      const file = join(work, `${profile ?? 'default'}.yaml`);
      await writeFile(file, example.stdout);
      const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
      assert.equal(check.code, 0, `${profile ?? 'default'}: ${check.stdout}${check.stderr}`);
      assert.match(check.stdout, /: valid \(plugins: /);
      // and says what clients need (a profile without serve: has no public URL, and that is fine)
      const clients = await runCli(['client-config', '--config', file], { timeoutMs: 20_000 });
      assert.equal(clients.code, 0, `client-config ${profile ?? 'default'}: ${clients.stderr}`);
    }
    const unknown = await runCli(['config', 'example', '--profile', 'outside'], { timeoutMs: 20_000 });
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /'outside' is invalid\. Allowed choices are connected, inside, cache-only, vex-only, local/,
    );
  });

  test('a missing config file is missing, not invalid: config check and run say so, without a stack', async () => {
    const missing = join(dir, 'no-such-config.yaml');
    for (const args of [
      ['config', 'check', '--config', missing],
      ['run', '--config', missing],
    ]) {
      const r = await runCli(args, { timeoutMs: 20_000 });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      const out = logText(r.stdout) + r.stderr;
      assert.ok(
        out.includes(
          `config file ${missing} (named by --config) does not exist; write one with: trivy-mirror config example > ${missing}`,
        ),
        out,
      );
      assert.doesNotMatch(out, /invalid/);
      assert.doesNotMatch(r.stdout + r.stderr, /"stack"|^\s+at /m);
    }
  });

  test('config check --help says its exit codes and examples once', async () => {
    const r = await runCli(['config', 'check', '--help']);
    assert.equal(r.code, 0, r.stderr);
    const count = (needle: string) => r.stdout.split(needle).length - 1;
    assert.equal(count('Examples:'), 1, r.stdout);
    assert.equal(count('Exit 0'), 1, r.stdout);
    assert.equal(count('trivy-mirror config check --config /etc/trivy-mirror/config.yaml'), 1, r.stdout);
  });

  test('a config that does nothing is valid with a warning; disabled plugins are listed', async () => {
    const file = join(dir, 'idle.yaml');
    await writeFile(
      file,
      `${head}plugins:
  oci-sync: { artifacts: [] }
  vexhub-mirror: { repositories: [] }
  cache-populator: { enabled: false, targets: [{ dir: ${dir}/cache }] }
`,
    );
    const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stdout,
      /warning: this config does nothing: every plugin is disabled or has nothing to do \([^\n]*oci-sync: no artifacts; vexhub-mirror: no repositories\)/,
    );
    assert.match(
      check.stdout,
      /valid \(plugins: auth-providers, oci-sync, vexhub-mirror; disabled: cache-populator\)/,
    );
  });
});
