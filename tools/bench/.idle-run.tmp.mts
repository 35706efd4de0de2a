// usage: idle-run.mts [seconds] [-- node flags...]; env IDLE_BIN overrides the bin
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@trivy-mirror/fixtures';
import { writeDaemonConfig } from '/work/main/tools/bench/lib/daemon-cli.ts';
const env = JSON.parse(await readFile('/tmp/tm-perf/idle/env.json', 'utf8'));
const seconds = Number(process.argv[2] ?? 20);
const flags = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const dir = await mkdtemp(join(env.root, 'd-'));
const adminPort = await freePort();
const config = await writeDaemonConfig(join(dir, 'config.yaml'), {
  stateDir: join(dir, 'state'), adminPort, servePort: await freePort(), sources: [`${env.host}/aquasec`],
  artifacts: [{ name: 'trivy-db', tags: ['2'] }, { name: 'trivy-java-db', tags: ['1'] }, { name: 'trivy-checks', tags: ['1', '2'] }],
  cacheTargets: [{ dir: join(dir, 'cache') }], vexUrl: env.vexUrl,
});
const bin = process.env.IDLE_BIN ?? '/work/main/apps/daemon/bin/trivy-mirror.js';
const child = spawn(process.execPath, [...flags, bin, 'run', '--config', config], { cwd: '/work/main', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
let tail = ''; child.stdout.on('data', (d) => (tail += d)); child.stderr.on('data', (d) => (tail += d));
const pid = child.pid!;
const stat = async () => { const s = await readFile(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const status = async (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const t0 = Date.now();
for (;;) { try { const r = await fetch(`http://127.0.0.1:${adminPort}/readyz`); if (r.status === 200) break; } catch {} if (Date.now() - t0 > 120000) { console.log(tail); process.exit(1); } await new Promise((r) => setTimeout(r, 200)); }
const readyMs = Date.now() - t0;
let before = await stat(); const q0 = Date.now();
for (;;) { await new Promise((r) => setTimeout(r, 1000)); const now = await stat(); if (now - before < 50 || Date.now() - q0 > 60000) break; before = now; }
const rss: number[] = []; const c0 = await stat();
for (let i = 0; i < seconds; i++) { await new Promise((r) => setTimeout(r, 1000)); rss.push(Math.round(await status('VmRSS'))); }
const c1 = await stat();
const roll = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
const pick = (k: string) => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)![1]) / 1024);
console.log(`flags=${flags.join(' ') || '-'} ready ${readyMs}ms settle ${Date.now() - q0 - seconds * 1000}ms  RSS peak ${Math.max(...rss)} last ${rss.at(-1)} hwm ${Math.round(await status('VmHWM'))}  anon ${pick('Anonymous')} file ${pick('Rss') - pick('Anonymous')}  cpu ${((c1 - c0) / seconds / 10).toFixed(2)}%`);
console.log('series', rss.join(' '));
child.kill('SIGTERM');
