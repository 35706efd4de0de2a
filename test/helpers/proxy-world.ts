// The world of the corporate-edge e2e files: upstream, destination and VEX host names that only Debian's
// squid resolves (`*.test`), the upstream behind nginx on TLS with a certificate from a test CA that only a
// CA bundle trusts (the "system store" through SSL_CERT_FILE/SSL_CERT_DIR, never the machine's), and a
// second squid that wants credentials.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type RunningNginx,
  type RunningRegistry,
  type RunningSquid,
  type SeedUpstreamResult,
  seedUpstream,
  startNginx,
  startRegistry,
  startSquid,
} from '@trivy-mirror/fixtures';
import { freePort } from './daemon-process.js';
import { tempDir } from './oci-e2e.js';
import { makeTestCa, type TestCa } from './test-ca.js';
import { startVexServer, type VexServer } from './vex-server.js';

export const PROXY_USER = 'edge-bot';
export const PROXY_PASSWORD = 's3cret pass';

export interface ProxyWorld {
  work: Awaited<ReturnType<typeof tempDir>>;
  ca: TestCa;
  upstream: RunningRegistry;
  tlsFront: RunningNginx;
  dest: RunningRegistry;
  vex: VexServer;
  squid: RunningSquid;
  authSquid: RunningSquid;
  seeded: SeedUpstreamResult;
  /** host:port as the daemon names them; only the proxies resolve these. */
  names: { upstream: string; dest: string; vex: string };
  /** The daemon's environment: the proxy variables, and a "system store" holding only the test CA. */
  env(proxy: string | undefined, extra?: Record<string, string>): Record<string, string>;
  /** A config syncing upstream → store → dest and mirroring VEX; `extra` is appended at the top level. */
  writeConfig(name: string, extra?: string): Promise<{ path: string; stateDir: string }>;
  stop(): Promise<void>;
}

export async function startProxyWorld(name: string): Promise<ProxyWorld> {
  const work = await tempDir(name);
  const ca = await makeTestCa(work.dir, ['upstream.test']);
  const emptyCertDir = join(work.dir, 'empty-cert-dir');
  await mkdir(emptyCertDir);
  const [upstream, dest] = await Promise.all([startRegistry(), startRegistry()]);
  const tlsFront = await startNginx({
    tls: { cert: ca.cert, key: ca.key },
    http: 'client_max_body_size 0;',
    server: `location / {
      proxy_pass ${upstream.url};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_buffering off;
    }`,
  });
  const vex = await startVexServer({ baseFromHost: true });
  const port = (u: string) => new URL(u).port;
  const names = {
    upstream: `upstream.test:${port(tlsFront.url)}`,
    dest: `dest.test:${port(dest.url)}`,
    vex: `vex.test:${port(vex.url)}`,
  };
  const hosts = ['upstream.test', 'dest.test', 'vex.test'];
  const [squid, authSquid] = await Promise.all([
    startSquid({ hosts }),
    startSquid({ hosts, credentials: { username: PROXY_USER, password: PROXY_PASSWORD } }),
  ]);
  const seeded = await seedUpstream({
    registryUrl: upstream.url,
    prefix: 'aquasec',
    workDir: join(work.dir, 'seed'),
    dbBytes: 256 * 1024,
    javaDbBytes: 256 * 1024,
    seed: name,
  });
  const env = (proxy: string | undefined, extra: Record<string, string> = {}) => ({
    HTTPS_PROXY: proxy ?? '',
    HTTP_PROXY: proxy ?? '',
    https_proxy: '',
    http_proxy: '',
    NO_PROXY: '',
    no_proxy: '',
    SSL_CERT_FILE: ca.caCert,
    SSL_CERT_DIR: emptyCertDir,
    NODE_EXTRA_CA_CERTS: '',
    ...extra,
  });
  const writeConfig = async (configName: string, extra = '') => {
    const stateDir = join(work.dir, `state-${configName}`);
    await mkdir(stateDir, { recursive: true });
    const path = join(work.dir, `${configName}.yaml`);
    await writeFile(
      path,
      `stateDir: ${stateDir}
admin: { listen: 127.0.0.1:${await freePort()} }
log: { level: info, format: json }
registries:
  - { host: ${names.dest}, plainHttp: true }
  - { host: ${names.vex}, plainHttp: true }
${extra}
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    schedule: "0 0 1 1 *"
    sources: [${names.upstream}/aquasec]
    destinations: [${names.dest}/mirror]
    artifacts: [{ name: trivy-db, tags: ["2"] }]
  vexhub-mirror:
    schedule: "0 0 1 1 *"
    repositories: [{ name: vexhub, url: http://${names.vex}/vexhub }]
`,
    );
    return { path, stateDir };
  };
  const stop = async () => {
    await Promise.allSettled([squid.stop(), authSquid.stop(), tlsFront.stop(), vex.close()]);
    await Promise.allSettled([upstream.stop(), dest.stop()]);
    await work.remove();
  };
  return { work, ca, upstream, tlsFront, dest, vex, squid, authSquid, seeded, names, env, writeConfig, stop };
}
