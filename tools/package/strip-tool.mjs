// A strip(1) that reads binaries of `arch`: the host's own, or binutils' cross one (Debian's
// binutils-aarch64-linux-gnu); undefined when there is none (the binary then stays unstripped).
import { spawnSync } from 'node:child_process';

const CROSS = { x64: 'x86_64-linux-gnu-strip', arm64: 'aarch64-linux-gnu-strip' };

export function stripTool(arch) {
  const candidates = arch === process.arch ? ['strip', CROSS[arch]] : [CROSS[arch]];
  return candidates.find((tool) => tool && spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
}
