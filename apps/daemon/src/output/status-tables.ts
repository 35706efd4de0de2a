// The human form of /status: a table per known component (oci-sync artifacts, VEX repositories,
// cache dirs, credential providers), one line per other component, the clients seen and each
// configured host's route; `status --json` has it all.
import { formatAge, formatBytes } from './cli-output.js';
import { formatTable } from './text-table.js';

type Rec = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const short = (digest: unknown) => (str(digest) ? String(digest).slice(7, 19) : '-');
const rec = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const errText = (v: unknown) => str(rec(v).message) ?? '';

function artifactsTable(c: Rec): string {
  const rows = Object.entries(rec(c.artifacts)).map(([key, raw]) => {
    const a = rec(raw);
    const dests = Object.values(rec(a.destinations));
    const pushed = dests.filter((d) => !rec(d).lastError).length;
    return [
      key,
      a.stored ? short(a.manifestDigest) : 'not stored',
      num(a.layerSize) !== undefined ? formatBytes(num(a.layerSize)!) : '-',
      str(a.updatedAt) ?? (str(a.version) ? `v${a.version}` : '-'),
      str(a.nextUpdate) ? formatAge(str(a.nextUpdate)) : '-',
      formatAge(str(a.lastSuccess)),
      dests.length ? `${pushed}/${dests.length}` : '-',
      errText(a.lastError),
    ];
  });
  if (rows.length === 0) return '';
  // inside an air gap: when and from where each version came, how old it is, when the next is due
  const freshness = Object.entries(rec(c.artifacts))
    .filter(([, raw]) => str(rec(raw).freshness))
    .map(([key, raw]) => `  ${key}: ${str(rec(raw).freshness)}\n`)
    .join('');
  const head = [
    'ARTIFACT',
    'DIGEST',
    'LAYER',
    'UPDATED / VERSION',
    'NEXT UPDATE',
    'SYNCED',
    'PUSHED',
    'ERROR',
  ];
  return `\nartifacts (oci-sync)\n${formatTable(head, rows)}${freshness}${signerLines(c)}`;
}

/** With `trust:` configured: who signed each served version, under the table. */
function signerLines(c: Rec): string {
  return Object.entries(rec(c.artifacts))
    .filter(([, raw]) => rec(raw).signature !== undefined)
    .map(([key, raw]) => `  ${key}: ${signerText(rec(rec(raw).signature))}\n`)
    .join('');
}

function signerText(s: Rec): string {
  if (str(s.keyIdShort)) return `signed by ${str(s.keyIdShort)} (${str(s.keyFile) ?? '?'})`;
  if (str(s.failure) === 'UNSIGNED') return 'unsigned';
  return `NOT TRUSTED [${str(s.failure) ?? '?'}] ${str(s.message) ?? ''}`;
}

function vexTable(c: Rec): string {
  const rows = Object.entries(rec(c.repositories)).map(([name, raw]) => {
    const r = rec(raw);
    return [
      name,
      short(r.version),
      str(r.updatedAt) ?? '-',
      num(r.packages) !== undefined ? String(r.packages) : '-',
      str(r.importedAt) ? `imported ${formatAge(str(r.importedAt))}` : formatAge(str(r.fetchedAt)),
      errText(r.lastError),
    ];
  });
  if (rows.length === 0) return '';
  const imported = Object.entries(rec(c.repositories))
    .filter(([, raw]) => str(rec(raw).importedAt))
    .map(
      ([name, raw]) =>
        `  vex ${name}  imported ${str(rec(raw).importedAt)} from ${str(rec(raw).importedFrom)}\n`,
    )
    .join('');
  const head = ['REPOSITORY', 'VERSION', 'UPDATED_AT', 'PACKAGES', 'CHECKED', 'ERROR'];
  return `\nVEX repositories (vexhub-mirror)\n${formatTable(head, rows)}${imported}`;
}

function cacheTable(c: Rec): string {
  const rows: string[][] = [];
  for (const t of Array.isArray(c.targets) ? c.targets : []) {
    const target = rec(t);
    for (const [part, raw] of Object.entries(rec(target.parts))) {
      const p = rec(raw);
      const state = !p.populated ? 'missing' : p.stale ? 'STALE' : 'ok';
      rows.push([
        str(target.dir) ?? '-',
        part,
        state,
        formatAge(str(p.downloadedAt) ?? str(p.updatedAt)),
        p.layerDigest ? short(p.layerDigest) : '-',
        str(rec(p.lastResult).status) ?? '-',
        errText(p.lastError),
      ]);
    }
  }
  if (rows.length === 0) return '';
  const head = ['CACHE DIR', 'PART', 'STATE', 'WRITTEN', 'LAYER', 'LAST', 'ERROR'];
  return `\ncache dirs (cache-populator)\n${formatTable(head, rows)}`;
}

const RENDERERS: Record<string, (c: Rec) => string> = {
  'oci-sync': artifactsTable,
  'vexhub-mirror': vexTable,
  'cache-populator': cacheTable,
};

/** Every component's readiness on one line each, then the tables of the known ones. */
export function componentTables(components: Record<string, unknown>): string {
  const rows = Object.entries(components).map(([id, raw]) => {
    const c = rec(raw);
    const ready = c.ready === false ? 'NOT READY' : c.ready === true ? 'ready' : '-';
    const why = [str(c.reason), errText(c.lastError), summary(id, c)].filter(Boolean).join('; ');
    return [id, ready, why];
  });
  let out = rows.length ? `\ncomponents\n${formatTable(['COMPONENT', 'STATE', 'DETAIL'], rows)}` : '';
  for (const [id, raw] of Object.entries(components)) out += RENDERERS[id]?.(rec(raw)) ?? '';
  return out;
}

/** A one-line summary for components without a table (credential providers, external plugins). */
function summary(id: string, c: Rec): string {
  if (id === 'auth-providers') {
    const providers = Array.isArray(c.providers) ? c.providers.join(', ') : '';
    const creds = Array.isArray(c.credentials) ? c.credentials.length : 0;
    return `providers: ${providers || '-'}; ${creds} configured credential(s)`;
  }
  if (RENDERERS[id]) return '';
  const scalars = Object.entries(c)
    .filter(([k, v]) => k !== 'ready' && ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}=${String(v)}`);
  return scalars.slice(0, 6).join(' ');
}

/** Each configured host's route (/status `network`): direct or which proxy, and why; the last probe. */
export function networkTable(network: unknown): string {
  const n = rec(network);
  const hosts = (Array.isArray(n.hosts) ? n.hosts : []).map(rec);
  if (hosts.length === 0) return '';
  const rows = hosts.map((h) => [
    str(h.role) ?? '-',
    str(h.target) ?? '-',
    str(h.via) ?? '-',
    str(h.why) ?? '',
  ]);
  const probe = rec(n.lastProbe);
  const lines = Array.isArray(probe.lines)
    ? probe.lines.filter((l): l is string => typeof l === 'string')
    : [];
  const last = str(probe.at)
    ? `  last self-check ${formatAge(str(probe.at))}:\n${lines.map((l) => `    ${l}\n`).join('')}`
    : '';
  // the usual case, every host the same way for the same reason: one line
  const ways = new Set(rows.map(([, , via, why]) => `${via} (${why})`));
  if (ways.size === 1)
    return `\nnetwork  ${hosts.length === 1 ? 'the one host' : `all ${hosts.length} hosts`}: ${[...ways][0]}\n${last}`;
  return `\nnetwork (route of each configured host)\n${formatTable(['ROLE', 'HOST', 'ROUTE', 'WHY'], rows)}${last}`;
}

/** The clients seen on the serving listener (/status `clients`), with their warnings. */
export function clientsTable(clients: unknown): string {
  const list = (Array.isArray(clients) ? clients : []).map(rec);
  if (list.length === 0) return '';
  const rows = list.map((c) => {
    const artifacts = Object.entries(rec(c.artifacts)).map(([name, raw]) => {
      const tags = Array.isArray(rec(raw).tags) ? (rec(raw).tags as string[]) : [];
      return tags.length ? tags.map((t) => `${name}:${t}`).join(' ') : name;
    });
    return [
      str(c.client) ?? '-',
      str(c.version) || '-',
      String(num(c.requests) ?? 0),
      formatBytes(num(c.bytes) ?? 0),
      formatAge(str(c.lastSeen)),
      artifacts.join(' '),
    ];
  });
  const warnings = list
    .flatMap((c) => (Array.isArray(c.warnings) ? c.warnings : []))
    .map((w) => `  warning: ${w}\n`)
    .join('');
  const head = ['CLIENT', 'VERSION', 'REQUESTS', 'BYTES', 'LAST SEEN', 'ARTIFACTS'];
  return `\nclients since start (serving listener)\n${formatTable(head, rows)}${warnings}`;
}
