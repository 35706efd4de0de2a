// The parts of a Trivy cache dir and the unpack cap: plain values with no imports, so the CLI can
// describe `populate` without loading the plugin (start-up time of `--help`).
export const CACHE_PARTS = ['db', 'java-db', 'checks', 'vex'] as const;
export type CachePart = (typeof CACHE_PARTS)[number];

/** Cap on the decompressed size of one layer (gzip bombs). */
export const DEFAULT_MAX_UNPACKED_BYTES = 8 * 1024 ** 3;
