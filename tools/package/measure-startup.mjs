// Start-up figures of an executable: wall time of `--help` and `status` (no daemon answering), and the
// time from exec to the first 200 of /healthz of `run`. Median of N runs each (the machine may be
// loaded: read medians, not single runs). Usage: node tools/package/measure-startup.mjs BIN [N]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function wall(bin, args, env) {
  const t0 = performance.now();
  const child = spawn(bin, args, { stdio: 'ignore', env });
  await once(child, 'exit');
  return performance.now() - t0;
}

async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

const healthy = (port) =>
  new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.end();
  });

/** ms from spawning `run` to the first 200 from /healthz (polled every 2 ms). */
async function healthzMs(bin, dir, env) {
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `stateDir: ${join(dir, 'state')}\nadmin:\n  listen: 127.0.0.1:${port}\n`);
  const t0 = performance.now();
  const child = spawn(bin, ['run', '--config', config], { stdio: 'ignore', env });
  let ms;
  while (ms === undefined && performance.now() - t0 < 10_000) {
    if (await healthy(port)) ms = performance.now() - t0;
    else await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGTERM');
  await once(child, 'exit');
  return ms ?? Number.POSITIVE_INFINITY;
}

export async function measureStartup(bin, runs = 15) {
  const dir = mkdtempSync(join(tmpdir(), 'tm-startup-'));
  // no config file: status reads the default address, and no daemon answers there
  const env = { ...process.env, TRIVY_MIRROR_ADMIN_LISTEN: '127.0.0.1:9' };
  delete env.TRIVY_MIRROR_CONFIG;
  const out = { help: [], status: [], healthz: [] };
  try {
    for (let i = 0; i < runs; i++) {
      out.help.push(await wall(bin, ['--help'], env));
      out.status.push(await wall(bin, ['status'], env));
      out.healthz.push(await healthzMs(bin, dir, { ...process.env, TRIVY_MIRROR_LOG_LEVEL: 'error' }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(median(v))]));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [bin, n] = process.argv.slice(2);
  if (!bin) throw new Error('usage: measure-startup.mjs BIN [RUNS]');
  console.log(JSON.stringify(await measureStartup(bin, Number(n ?? 15))));
}
