// End to end: start-up errors of the built daemon: a bad config names the YAML path and line (and
// config check agrees), a usage error exits at once, a broken external plugin is named with its cause
// (set-up: helpers/daemon-lifecycle-suite.ts, for the main daemon's config, which must stay valid).
import assert from 'node:assert/strict';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type LifecycleWorld,
  startLifecycleWorld,
  writeMainConfig,
} from './helpers/daemon-lifecycle-suite.js';
import { freePort, runCli } from './helpers/daemon-process.js';

describe('daemon lifecycle (built daemon, real registries)', { timeout: 85_000 }, () => {
  let world: LifecycleWorld;
  let configPath: string;
  before(async () => {
    world = await startLifecycleWorld('lifecycle-errors');
    ({ configPath } = await writeMainConfig(world));
  });
  after(() => world?.stop());

  test('a bad config stops start-up with the YAML path and line; config check agrees', async () => {
    const bad = join(world.dir, 'bad');
    await mkdir(bad, { recursive: true });
    const head = `stateDir: ${bad}/state
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
`;
    const cases = [
      {
        name: 'tags-number.yaml',
        yaml: `${head}plugins:
  oci-sync:
    sources: [127.0.0.1:1/aquasec]
    artifacts:
      - { name: trivy-db, tags: 5 }
`,
        expect: /plugins\.oci-sync\.artifacts\[0\]\.tags \(line 8\b/,
      },
      {
        name: 'unknown-key.yaml',
        yaml: `${head}plugins:
  oci-sync:
    sources: [127.0.0.1:1/aquasec]
    colour: blue
`,
        expect: /plugins\.oci-sync\.colour \(line 7\b[^)]*\): unknown key \\?"colour/,
      },
    ];
    for (const c of cases) {
      const file = join(bad, c.name);
      await writeFile(file, c.yaml);
      const run = await runCli(['run', '--config', file], { timeoutMs: 20_000 });
      assert.notEqual(run.code, 0, `${c.name}: run exited ${run.code}`);
      assert.match(run.stdout + run.stderr, c.expect, c.name);
      assert.ok(!(await stat(join(bad, 'state')).catch(() => undefined)), 'nothing started');
      const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
      assert.equal(check.code, 1, `${c.name}: config check exited ${check.code}`);
      assert.match(check.stderr, c.expect, c.name);
    }
    // A usage error exits at once (nothing, not even the early /healthz, keeps it alive).
    const usage = await runCli(['run', '--config', configPath, '--no-such-flag'], { timeoutMs: 15_000 });
    assert.equal(usage.code, 1, usage.stderr);
    assert.match(usage.stderr, /unknown option '--no-such-flag'/);
    const good = await runCli(['config', 'check', '--config', configPath], { timeoutMs: 20_000 });
    assert.equal(good.code, 0, good.stderr);
    const schema = await runCli(['config', 'schema'], { timeoutMs: 20_000 });
    assert.equal(schema.code, 0, schema.stderr);
    const json = JSON.parse(schema.stdout) as { type?: string; properties?: Record<string, unknown> };
    assert.equal(json.type, 'object');
    assert.ok(json.properties?.plugins && json.properties.stateDir, 'schema describes stateDir and plugins');
  });

  test('a broken external plugin stops start-up with its name and the cause', async () => {
    const plugins = join(world.dir, 'plugins');
    await mkdir(plugins, { recursive: true });
    const throwing = join(plugins, 'throws-on-import.mjs');
    await writeFile(throwing, 'throw new Error("exploded while importing");\n');
    const wrongShape = join(plugins, 'wrong-shape.mjs');
    await writeFile(wrongShape, 'export default { id: 42, hello: "world" };\n');
    await chmod(throwing, 0o644);
    for (const [file, cause] of [
      [throwing, /exploded while importing/],
      [wrongShape, /not a plugin[^\n]*`id`[^\n]*`module` must be a function/],
    ] as const) {
      const cfg = join(plugins, 'config.yaml');
      await writeFile(
        cfg,
        `stateDir: ${plugins}/state
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
plugins:
  external: [{ module: ${file} }]
`,
      );
      const run = await runCli(['run', '--config', cfg], { timeoutMs: 20_000 });
      assert.notEqual(run.code, 0);
      const out = run.stdout + run.stderr;
      assert.ok(out.includes(`plugin ${file}`), out);
      assert.match(out, cause);
      const check = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 20_000 });
      assert.equal(check.code, 1);
      assert.ok(check.stderr.includes(file), check.stderr);
      assert.match(check.stderr, cause);
    }
  });
});
