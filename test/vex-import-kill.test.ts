// End to end: `trivy-mirror import` killed with SIGKILL while it unpacks a VEX archive leaves its
// staging folder behind (nothing can clean up after a SIGKILL). The next import, and a daemon that
// starts, remove what dead processes left; the import still ends with the right version served.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, generateVexRepository, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { daemonBin, freePort, repoRoot, runCli, startDaemon } from './helpers/daemon-process.js';
import { tempDir } from './helpers/oci-e2e.js';

// Enough documents that unpacking takes a while on a loaded machine (4 000 files).
const PACKAGES = 2_000;

describe('a VEX import killed mid-way (e2e)', { timeout: 240_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let out: string;
  let cfg: string;
  let adminPort: number;
  let version: string;
  let repoDir: string;

  before(async () => {
    work = await tempDir('vex-import-kill');
    out = join(work.dir, 'export');
    const db = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 16 * 1024,
      seed: 'kill',
      workDir: work.dir,
    });
    await writeArtifactToLayout(join(out, 'trivy-db'), '2', db);
    const updatedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const vex = await generateVexRepository({
      dir: join(work.dir, 'vex-gen'),
      packages: PACKAGES,
      format: 'zip',
      seed: 'vex-import-kill',
      updatedAt,
    });
    const dir = join(out, 'vex', 'vexhub');
    await mkdir(dir, { recursive: true });
    await copyFile(vex.archivePath, join(dir, 'archive.zip'));
    await copyFile(vex.manifestPath, join(dir, 'vex-repository.json'));
    const archive = await readFile(vex.archivePath);
    version = createHash('sha256').update(archive).digest('hex');
    const at = updatedAt.toISOString();
    await writeFile(
      join(dir, 'version.json'),
      JSON.stringify({
        format: 'trivy-mirror.vex/v1',
        repository: 'vexhub',
        version,
        archiveType: 'zip',
        archiveSize: archive.length,
        subdir: vex.topFolder,
        updatedAt: vex.index.updated_at,
        packages: PACKAGES,
        sourceUrl: 'https://example.invalid/vexhub',
        manifestUrl: 'https://example.invalid/vexhub/vex-repository.json',
        archiveUrl: 'https://example.invalid/vexhub/main.zip',
        fetchedAt: at,
        exportedAt: at,
      }),
    );
    const state = join(work.dir, 'state');
    repoDir = join(state, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub');
    adminPort = await freePort();
    cfg = join(work.dir, 'inside.yaml');
    await writeFile(
      cfg,
      [
        `stateDir: ${state}`,
        `admin: { listen: 127.0.0.1:${adminPort} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        '  oci-sync: { sources: [] }',
        '  vexhub-mirror: { repositories: [{ name: vexhub, source: import }] }',
        '  cache-populator: { targets: [] }',
        '',
      ].join('\n'),
    );
  });

  after(() => work?.remove());

  const staging = () => readdir(join(repoDir, 'tmp')).catch(() => [] as string[]);

  /** Starts an import and SIGKILLs it once it unpacks into its staging folder; returns what it left. */
  async function killedImport(): Promise<string[]> {
    const before = new Set(await staging());
    const child: ChildProcess = spawn(
      process.execPath,
      [daemonBin, 'import', out, '--config', cfg, '--no-notify'],
      { cwd: repoRoot, stdio: 'ignore' },
    );
    const exited = once(child, 'exit');
    const t0 = Date.now();
    try {
      for (;;) {
        if (child.exitCode !== null) assert.fail('the import finished before it could be killed');
        const mine = (await staging()).find((d) => !before.has(d));
        const inside = mine ? await readdir(join(repoDir, 'tmp', mine)).catch(() => []) : [];
        if (inside.includes('tree')) break; // unpacking
        if (Date.now() - t0 > 60_000) assert.fail('the import never staged the VEX archive');
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const left = (await staging()).filter((d) => !before.has(d));
    assert.equal(left.length, 1, 'the killed import left its staging folder');
    return left;
  }

  async function assertImported(): Promise<void> {
    assert.deepEqual(await staging(), [], 'no staging folder left');
    const current = JSON.parse(await readFile(join(repoDir, 'current.json'), 'utf8')) as {
      version: string;
      packages: number;
    };
    assert.equal(current.version, version);
    assert.equal(current.packages, PACKAGES);
    assert.deepEqual(await readdir(join(repoDir, 'versions')), [version]);
    const index = JSON.parse(
      await readFile(join(repoDir, 'versions', version, 'content', 'index.json'), 'utf8'),
    ) as {
      packages: unknown[];
    };
    assert.equal(index.packages.length, PACKAGES);
  }

  test('the next import removes the dead import’s staging and imports the version', async (t) => {
    const left = await killedImport();
    t.diagnostic(`left by the killed import: ${left.join(', ')}`);
    const r = await runCli(['import', out, '--config', cfg, '--no-notify']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /imported vex vexhub/);
    await assertImported();
  });

  test('a daemon that starts removes what a killed import left', async () => {
    await killedImport();
    const daemon = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    try {
      await daemon.waitForLog((l) => l.msg === 'job finished' && l.job === 'vexhub-mirror', 30_000);
      await assertImported();
    } finally {
      await daemon.stop();
    }
  });
});
