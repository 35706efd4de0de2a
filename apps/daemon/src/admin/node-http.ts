// node:http through require: an ESM import of it builds the module's ESM facade, whose lazy `WebSocket`
// export loads fetch's client (~30 ms of CPU here), for `status` and for run's stand-in /healthz.
// Required on first use: `--help` and the commands that never speak HTTP do not load it (and its
// net and stream modules) at all.
import { createRequire } from 'node:module';

let loaded: typeof import('node:http') | undefined;

export function nodeHttp(): typeof import('node:http') {
  loaded ??= createRequire(import.meta.url)('node:http') as typeof import('node:http');
  return loaded;
}
