// A one-line progress display for a TTY (bytes, rate); silent when the stream is not a terminal.
import { printableLine } from '@trivy-mirror/plugin-api/terminal-text';
import { formatBytes } from './cli-output.js';

export class ProgressLine {
  private last = 0;
  private label = '';
  private t0 = Date.now();
  private active = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(label: string, bytes: number, total: number): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (label !== this.label) {
      this.label = label;
      this.t0 = now;
    }
    if (now - this.last < 100 && bytes < total) return;
    this.last = now;
    this.active = true;
    const pct = total > 0 ? Math.floor((bytes / total) * 100) : 0;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const rate = bytes / Math.max(0.001, (now - this.t0) / 1000);
    this.out.write(
      `\r\x1b[2K${printableLine(label)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${formatBytes(bytes)}/${formatBytes(total)} ${formatBytes(rate)}/s`,
    );
  }

  done(): void {
    if (this.active && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.active = false;
  }
}
