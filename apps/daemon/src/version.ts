// The app's version, read from its package.json at run time (one source of truth).
import { readFileSync } from 'node:fs';

export const version: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
})();
