// What the suites need outside the checkout, looked for before any of them starts, where the suites
// look (the *_BIN variables, Debian's paths, PATH, the folder tools/scripts/go-peers.sh builds into):
// a missing one is named with the apt-get line or the Go peers' install command, instead of a suite
// failing minutes in. The unit tests (--unit) need none of them.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/** [what the suites run, its Debian package, the fixed paths they try first]. */
const aptTools = (env) => [
  ['docker-registry', 'docker-registry', [env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry']],
  ['skopeo', 'skopeo'],
  ['nginx', 'nginx', [env.NGINX_BIN ?? '/usr/sbin/nginx']],
  ['squid', 'squid', [env.SQUID_BIN ?? '/usr/sbin/squid']],
  ['python3', 'python3', env.PYTHON ? [env.PYTHON] : []],
  ['promtool', 'prometheus'],
  ['chromium', 'chromium', [env.CHROMIUM ?? '/usr/bin/chromium']],
  ['openssl', 'openssl'],
  ['lintian', 'lintian'],
  ['systemd-analyze', 'systemd'],
  ['file', 'file'],
  ['strip', 'binutils'],
  ['man', 'man-db'],
];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const pathHits = (name, env) =>
  (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .filter(executable);
const onPath = (name, env) => pathHits(name, env).length > 0;

/** A trivy on PATH that is this version (it says so in `trivy --version`). */
function trivyOnPath(version, env) {
  return pathHits('trivy', env).some((bin) => {
    try {
      const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 15_000 });
      return /^Version: (\S+)/m.exec(out)?.[1] === version;
    } catch {
      return false;
    }
  });
}

/** NAME=VERSION pins of tools/scripts/go-peers.sh, the one place they are written. */
function goPeerVersions(env) {
  const script = readFileSync(join(root, 'tools/scripts/go-peers.sh'), 'utf8');
  const pin = (name) => new RegExp(`^${name}_VERSION=(\\S+)$`, 'm').exec(script)?.[1];
  return [
    ['trivy', pin('TRIVY'), env.TRIVY_BIN],
    ['trivy', pin('TRIVY_OLD'), env.TRIVY_OLD_BIN],
    ['crane', pin('CRANE')],
    ['oras', pin('ORAS')],
    ['regctl', pin('REGCLIENT')],
    ['regsync', pin('REGCLIENT')],
    ['cosign', pin('COSIGN')],
  ];
}

/** The tools that are missing: `apt` as Debian packages, `go` as "name vVERSION". */
export function missingTools(env = process.env) {
  const apt = aptTools(env)
    .filter(([name, , paths = []]) => !paths.some(executable) && !onPath(name, env))
    .map(([name, pkg]) => ({ name, pkg }));
  const cache = join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trivy-mirror-ci');
  const go = goPeerVersions(env)
    .filter(([name, version, fromEnv]) => {
      if (fromEnv) return !executable(fromEnv);
      if (executable(join(cache, `${name}-v${version}`, name))) return false;
      // PATH may hold another trivy than the one of this version
      return name === 'trivy' ? !trivyOnPath(version, env) : !onPath(name, env);
    })
    .map(([name, version]) => `${name} v${version}`);
  return { apt, go };
}

/** The report for what is missing, or undefined when nothing is. */
export function preflightReport({ apt, go }) {
  if (apt.length === 0 && go.length === 0) return undefined;
  const lines = ['run-tests: the suites need programs this machine does not have:'];
  if (apt.length > 0) {
    lines.push(
      `  ${apt.map((t) => t.name).join(', ')}; install ${apt.length === 1 ? 'it' : 'them'} with`,
      `    apt-get install -y ${[...new Set(apt.map((t) => t.pkg))].join(' ')}`,
    );
  }
  if (go.length > 0) {
    lines.push(
      `  ${go.join(', ')} (built once with Go 1.26 into ~/.cache/trivy-mirror-ci); install ${go.length === 1 ? 'it' : 'them'} with`,
      '    . tools/scripts/go-peers.sh && install_go_peers',
    );
  }
  lines.push(
    'The unit tests need none of them: npm run test:unit. TRIVY_MIRROR_SKIP_PREFLIGHT=1 runs the suites anyway.',
  );
  return lines.join('\n');
}
