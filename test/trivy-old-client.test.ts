// An older Trivy (v0.68.2) through the mirror, set up from what client-config prints, with the one change
// its note tells older releases to make: trivy-checks `:1` instead of `:2` (v0.68 reads bundle major 1,
// pkg/policy BundleVersion). VEX: v0.54–v0.72 remove the cached repository before every download and
// leave it removed on a 304 (pkg/downloader Download → os.RemoveAll(dst); v0.73 restores a backup),
// so the mirror must never answer such a client 304. The second update here is what triggers it: the
// cached cache.json older than the manifest's update_interval, so Trivy checks the location again, with
// If-None-Match when it holds an ETag (set-up: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TRIVY_EXPECTED } from '@trivy-mirror/fixtures';
import { type ClientConfig, clientConfig } from './helpers/client-config.js';
import {
  runTrivy,
  scanJson,
  TRIVY_VERSIONS,
  type TrivyRunOptions,
  trivyBinary,
  vulnerabilityIds,
} from './helpers/trivy-cli.js';
import { cachedChecksDigest, PROJECT, scanProject } from './helpers/trivy-expect.js';
import { splitSubdir } from './helpers/trivy-vex-client.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const REPO = 'vexhub';

/** The printed flags, trivy-checks `:2` → `:1` as the printed note says for older releases. */
function oldClientArgs(cc: ClientConfig): string[] {
  const note = (cc.oci.notes ?? []).find((n) => n.includes('trivy-checks'));
  assert.ok(note?.includes(':1'), `no note on trivy-checks :1 in ${JSON.stringify(cc.oci.notes)}`);
  const args = cc.args();
  const at = args.indexOf('--checks-bundle-repository');
  assert.ok(at >= 0 && args[at + 1]!.endsWith('/trivy-checks:2'), args.join(' '));
  return args.map((a, i) => (i === at + 1 ? a.replace(/:2$/, ':1') : a));
}

interface VexCache {
  dir: string;
  /** cache.json: when Trivy last checked, and the ETag it holds per location URL. */
  metadata(): Promise<{ UpdatedAt: string; ETags?: Record<string, string> }>;
  /** Moves UpdatedAt back by `ms`: past update_interval, the next update checks the location again. */
  age(ms: number): Promise<void>;
  index(): Promise<string | undefined>;
}

function vexCache(cacheDir: string): VexCache {
  const dir = join(cacheDir, 'vex', 'repositories', REPO);
  const file = join(dir, 'cache.json');
  const metadata = async () => JSON.parse(await readFile(file, 'utf8'));
  return {
    dir,
    metadata,
    async age(ms) {
      const m = await metadata();
      m.UpdatedAt = new Date(Date.parse(m.UpdatedAt) - ms).toISOString();
      await writeFile(file, JSON.stringify(m));
    },
    index: () => readFile(join(dir, '0.1', 'index.json'), 'utf8').catch(() => undefined),
  };
}

/** The requests and answers of a run with --trace-http, one line each ("GET /path → 200"). */
function exchanges(stderr: string): string[] {
  // Colours, should the trace have any.
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, '');
  const out: string[] = [];
  let pending: string | undefined;
  for (const line of plain.split('\n')) {
    const req = /^(GET|HEAD|POST|PUT) (\S+) HTTP\/[\d.]+/.exec(line.trim());
    if (req) pending = `${req[1]} ${req[2]}`;
    const ifNoneMatch = /^If-None-Match: (.*)$/i.exec(line.trim());
    if (ifNoneMatch && pending) pending += ` [If-None-Match ${ifNoneMatch[1]}]`;
    const res = /^HTTP\/[\d.]+ (\d{3})/.exec(line.trim());
    if (res && pending) {
      out.push(`${pending} → ${res[1]}`);
      pending = undefined;
    }
  }
  return out;
}

describe(`Trivy v${TRIVY_VERSIONS.old} (an older client) through the mirror`, { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let cc: ClientConfig;
  before(async () => {
    assert.equal(trivyBinary('old').version, TRIVY_VERSIONS.old);
    world = await startTrivyWorld('trivy-old');
    cc = await clientConfig(world.config);
  });
  after(() => world?.stop());

  test('databases and trivy-checks:1 from the embedded /v2/', async () => {
    const home = await world.clientHome('old-oci');
    const cache = join(home, 'cache');
    const args = oldClientArgs(cc);
    assert.ok(args.includes(`${world.serveHost}/trivy-checks:1`), args.join(' '));
    // scanProject: the fixture CVEs (the jar's through the java DB), AVD-DS-9001 from the bundle, and
    // no "Falling back to embedded checks".
    const report = await scanProject(
      ['--cache-dir', cache, ...args],
      { home, generation: 'old' },
      {},
      'Trivy v0.68 (flags, trivy-checks:1)',
    );
    assert.match(report.run.stderr, /Downloading vulnerability DB|Downloading DB/i);
    // The bundle Trivy recorded is the mirror's copy of upstream's trivy-checks:1, byte for byte.
    assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:1']);
  });

  test('--vex repo: download, scan, and a second update keep the VEX cache', async () => {
    assert.ok(cc.vex, 'client-config printed no VEX section');
    const home = await world.clientHome('old-vex');
    await cc.writeFiles(home);
    const cache = join(home, 'cache');
    const opts: TrivyRunOptions = { home, generation: 'old' };
    const scanArgs = ['--cache-dir', cache, ...oldClientArgs(cc), ...cc.args(cc.vex)];
    const vex = vexCache(cache);

    const download = await runTrivy(['vex', 'repo', 'download', '--cache-dir', cache], opts);
    assert.equal(download.code, 0, download.stderr);
    assert.ok(await vex.index(), 'no index.json after `trivy vex repo download`');
    await scanProject(scanArgs, opts, { vex: true }, 'v0.68 --vex repo after download');

    // The mirror sends no ETag (vexhub-mirror etag: false), so Trivy holds none to send back.
    const first = await vex.metadata();
    assert.deepEqual(Object.values(first.ETags ?? {}), [''], JSON.stringify(first));

    // Nor does it answer 304 to this client's User-Agent, whatever validator a client held from before.
    const manifest = JSON.parse(await readFile(join(vex.dir, 'vex-repository.json'), 'utf8')) as {
      versions: { locations: { url: string }[] }[];
    };
    const archive = splitSubdir(manifest.versions[0]!.locations[0]!.url).url;
    assert.ok(archive.startsWith(`${world.serveUrl}/`), archive);
    for (const url of [archive, `${world.serveUrl}/.well-known/vex-repository.json`]) {
      for (const method of ['HEAD', 'GET']) {
        const res = await fetch(url, {
          method,
          headers: { 'user-agent': `trivy/${TRIVY_VERSIONS.old}`, 'if-none-match': '*' },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 200, `${method} ${url} with If-None-Match`);
        assert.equal(res.headers.get('etag'), null, `${method} ${url} sends an ETag`);
      }
    }

    // Second update by `vex repo download`, within update_interval: nothing asked.
    const again = await runTrivy(['vex', 'repo', 'download', '--cache-dir', cache], opts);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /No need to check repository updates/);
    assert.ok(await vex.index(), 'index.json gone after a second `trivy vex repo download`');

    // Past update_interval: `vex repo download` checks the location again. It traces no HTTP, but its
    // debug log tells: the ETag it sends ("" → no If-None-Match), then either the metadata update after a
    // 200/206 or "No updates in the repository" after a 304.
    await vex.age(48 * 3600_000);
    const recheck = await runTrivy(['vex', 'repo', 'download', '--cache-dir', cache, '--debug'], opts);
    assert.equal(recheck.code, 0, recheck.stderr);
    assert.match(recheck.stderr, /Downloading repository to cache dir\.\.\..*etag=""/, recheck.stderr);
    assert.doesNotMatch(recheck.stderr, /No updates in the repository/, recheck.stderr);
    assert.ok(await vex.index(), `index.json gone after the re-check:\n${recheck.stderr}`);
    const second = await vex.metadata();
    assert.ok(Date.parse(second.UpdatedAt) > Date.parse(first.UpdatedAt), JSON.stringify(second));
    await scanProject(scanArgs, opts, { vex: true }, 'v0.68 --vex repo after a re-check by download');

    // And the re-check a scan does on its own past update_interval, its HTTP traced.
    await vex.age(48 * 3600_000);
    const report = await scanProject(
      [...scanArgs, '--debug', '--trace-http'],
      opts,
      { vex: true },
      'v0.68 --vex repo re-checking by itself',
    );
    const seen = exchanges(report.run.stderr);
    assert.ok(
      seen.some((s) => /^GET \S*\/vex\/vexhub\/archive\.zip → 20[06]$/.test(s)),
      `the scan's re-check fetched no archive: ${seen.join('; ')}`,
    );
    assert.ok(!seen.some((s) => s.includes('If-None-Match') || s.endsWith('→ 304')), seen.join('; '));
    assert.doesNotMatch(report.run.stderr, /VEX repository not found locally/);
    assert.ok(await vex.index(), 'index.json gone after the scan re-checked');
  });

  test('control: a host answering If-None-Match with 304 wipes the v0.68 VEX cache', async () => {
    // The loopback upstream the daemon mirrors sends ETags and answers 304: the same second update
    // with the old client loses the repository, which is what the mirror must never cause.
    const home = await world.clientHome('old-vex-304');
    const cache = join(home, 'cache');
    const [written] = await cc.writeFiles(home);
    assert.ok(written, 'client-config printed no repository.yaml');
    const printed = await readFile(written, 'utf8');
    await writeFile(written, printed.replace(/url: \S+/, `url: ${world.vex.url}/${REPO}`));
    const opts: TrivyRunOptions = { home, generation: 'old' };
    const vex = vexCache(cache);
    const download = await runTrivy(['vex', 'repo', 'download', '--cache-dir', cache], opts);
    assert.equal(download.code, 0, download.stderr);
    assert.ok(await vex.index());
    const etags = Object.values((await vex.metadata()).ETags ?? {});
    assert.ok(etags.length === 1 && etags[0]!.startsWith('"'), `no ETag held: ${etags}`);
    await vex.age(48 * 3600_000);
    const scan = await scanJson(
      [
        'rootfs',
        '--scanners',
        'vuln',
        '--cache-dir',
        cache,
        ...oldClientArgs(cc),
        ...cc.args(cc.vex!),
        '--debug',
        '--trace-http',
        PROJECT,
      ],
      opts,
    );
    const seen = exchanges(scan.run.stderr);
    assert.ok(
      seen.some((s) => s.includes('If-None-Match') && s.endsWith('→ 304')),
      `no conditional GET answered 304: ${seen.join('; ')}\n${scan.run.stderr.slice(-3000)}`,
    );
    assert.equal(await vex.index(), undefined, 'v0.68 kept its VEX cache on a 304 (fixed?)');
    assert.ok(
      vulnerabilityIds(scan).includes(TRIVY_EXPECTED.vexSuppressed),
      'suppressed without a VEX cache?',
    );
  });
});
