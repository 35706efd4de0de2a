// Reads the config file with bounds: a regular file of at most 1 MiB. `--config /dev/zero` would
// otherwise fill the memory, and a FIFO with no writer would hang start-up (and `config check`).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function readConfigFile(file: string, maxBytes = MAX_CONFIG_BYTES): Promise<string> {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; a regular file ignores it.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > maxBytes) throw new Error(`${info.size} bytes, more than the limit of ${maxBytes}`);
    // Read one byte past the limit: a file that grows meanwhile is refused too.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new Error(`more than the limit of ${maxBytes} bytes`);
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await handle.close();
  }
}
