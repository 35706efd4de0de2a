// Pure logic: location URLs (go-getter rules), source resolution, config defaults, ranges, repository.yaml.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import plugin, {
  parseLocation,
  parseManifest,
  renderRepositoryYaml,
  resolveSource,
  splitSubdir,
  vexhubMirrorConfigSchema,
} from '../src/index.js';

describe('location URLs', () => {
  test('splitSubdir follows go-getter SourceDirSubdir', () => {
    assert.deepEqual(splitSubdir('https://h/a/main.tar.gz//vexhub-main'), {
      src: 'https://h/a/main.tar.gz',
      subdir: 'vexhub-main',
    });
    assert.deepEqual(splitSubdir('https://h/a.zip//sub/dir?archive=zip'), {
      src: 'https://h/a.zip?archive=zip',
      subdir: 'sub/dir',
    });
    assert.deepEqual(splitSubdir('https://h/a.zip'), { src: 'https://h/a.zip', subdir: '' });
    assert.deepEqual(splitSubdir('https://h/x?u=https://o//p'), {
      src: 'https://h/x?u=https://o//p',
      subdir: '',
    });
  });

  test('parseLocation: suffix, ?archive=zip, unsupported types, traversal', () => {
    assert.deepEqual(
      parseLocation('https://github.com/aquasecurity/vexhub/archive/refs/heads/main.tar.gz//vexhub-main'),
      {
        url: 'https://github.com/aquasecurity/vexhub/archive/refs/heads/main.tar.gz',
        type: 'tar.gz',
        subdir: 'vexhub-main',
      },
    );
    assert.deepEqual(parseLocation('https://h/download?id=7&archive=zip'), {
      url: 'https://h/download?id=7',
      type: 'zip',
      subdir: undefined,
    });
    assert.equal(parseLocation('https://h/a.tgz').type, 'tar.gz');
    assert.throws(() => parseLocation('https://h/a.tar.xz'), /archive type "\.tar\.xz" is not supported/);
    assert.throws(() => parseLocation('https://h/a.json'), /neither an archive suffix/);
    assert.throws(() => parseLocation('/relative/a.zip'), /not an absolute URL/);
    assert.throws(() => parseLocation('https://h/a.zip//../x'), /leaves the archive/);
  });
});

describe('sources and config', () => {
  const config = vexhubMirrorConfigSchema.parse({});

  test('defaults', () => {
    assert.equal(config.schedule, '43 3 * * *');
    assert.equal(config.etag, false);
    assert.equal(config.pathPrefix, '/vex');
    assert.equal(config.repositories.length, 1);
    const [r] = config.repositories;
    assert.equal(r.name, 'vexhub');
    assert.equal(r.url, 'https://github.com/aquasecurity/vexhub');
    assert.equal(r.archive, 'zip');
    assert.equal(r.maxArchiveBytes, 256 * 1024 * 1024);
    assert.equal(r.maxUnpackedBytes, 1024 * 1024 * 1024);
    assert.equal(r.maxEntries, 200_000);
  });

  test('invalid config is refused', () => {
    assert.throws(() =>
      vexhubMirrorConfigSchema.parse({ repositories: [{ name: 'Bad Name', url: 'https://x' }] }),
    );
    assert.throws(() =>
      vexhubMirrorConfigSchema.parse({
        repositories: [
          { name: 'a', url: 'https://x' },
          { name: 'a', url: 'https://y' },
        ],
      }),
    );
    assert.throws(() => vexhubMirrorConfigSchema.parse({ unknown: true }));
  });

  test('github.com is read like Trivy does (repository root), other hosts via /.well-known', () => {
    assert.deepEqual(resolveSource(config.repositories[0], config), {
      kind: 'github',
      manifestUrl: 'https://raw.githubusercontent.com/aquasecurity/vexhub/main/vex-repository.json',
      archive: { url: 'https://github.com/aquasecurity/vexhub/archive/refs/heads/main.zip', type: 'zip' },
    });
    const spec = vexhubMirrorConfigSchema.parse({
      repositories: [{ name: 'corp', url: 'https://vex.corp/prefix/' }],
    });
    assert.deepEqual(resolveSource(spec.repositories[0], spec), {
      kind: 'spec',
      manifestUrl: 'https://vex.corp/prefix/.well-known/vex-repository.json',
    });
  });

  test('manifest checks', () => {
    assert.throws(
      () => parseManifest('{"versions":[]}', 'r'),
      /no version with spec_version "0\.1" \(found: none\)/,
    );
    assert.throws(() => parseManifest('nope', 'r'), /is not valid JSON/);
    assert.throws(
      () => parseManifest('{"versions":[{"spec_version":"0.1","locations":[]}]}', 'r'),
      /version 0\.1 has no locations/,
    );
    assert.throws(
      () =>
        parseManifest(
          '{"versions":[{"spec_version":"0.1","locations":[{"url":"https://h/a.zip"}],"update_interval":"1 day"}]}',
          'r',
        ),
      /not a Go duration/,
    );
    for (const interval of ['0', '-1h', '0s', undefined]) {
      const version = {
        spec_version: '0.1',
        locations: [{ url: 'https://h/a.zip' }],
        update_interval: interval,
      };
      assert.throws(
        () => parseManifest(JSON.stringify({ versions: [version] }), 'r'),
        interval === undefined ? /has no update_interval/ : /is not a positive duration/,
        String(interval),
      );
    }
  });

  test('daemon mode without publicUrl mirrors without serving: a warning, and manifests keep the upstream location', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const context = {
      id: 'vexhub-mirror',
      stateDir: '/tmp/x',
      pluginDir: '/tmp/x/p',
      logger,
      mode: 'daemon' as const,
    };
    assert.doesNotThrow(() => plugin.module(config, context));
    assert.match(
      lines.join(''),
      /no serve\.publicUrl: VEX repositories are mirrored for cache dirs but not served/,
    );
    const { servedArchiveUrl } = await import('../src/upstream/mirror-repository.js');
    const loc = {
      url: 'https://github.com/aquasecurity/vexhub/archive/refs/heads/main.zip',
      type: 'zip' as const,
    };
    assert.equal(servedArchiveUrl(undefined, '/vex', 'vexhub', loc), loc.url);
    assert.equal(
      servedArchiveUrl('https://m.example', '/vex', 'vexhub', loc),
      'https://m.example/vex/vexhub/archive.zip',
    );
  });
});

describe('repository.yaml', () => {
  test('first repository at the root URL, others under /<name>', () => {
    assert.equal(
      renderRepositoryYaml({ publicUrl: 'https://bastion:8443/', repositories: ['vexhub', 'corp'] }),
      [
        'repositories:',
        '  - name: vexhub',
        '    url: https://bastion:8443',
        '    enabled: true',
        '  - name: corp',
        '    url: https://bastion:8443/corp',
        '    enabled: true',
        '',
      ].join('\n'),
    );
  });
});
