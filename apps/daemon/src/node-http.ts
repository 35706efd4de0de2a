// node:http through require: an ESM import of it builds the module's ESM facade, whose lazy `WebSocket`
// export loads fetch's client (~30 ms of CPU here), for `status` and for run's stand-in /healthz.
import { createRequire } from 'node:module';

export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
