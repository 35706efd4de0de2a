// N concurrent downloads of one URL by `curl` into /dev/null, started together from one shell and
// measured as a whole: aggregate throughput = N × size / wall time until the last one finishes.
import { type Measurement, runMeasured } from './measure.js';

export interface ParallelGetResult {
  measurement: Measurement;
  /** N × expected size / wall, bytes per second. */
  bytesPerSecond: number;
}

export async function parallelGet(
  url: string,
  clients: number,
  expectedBytes: number,
  timeoutMs: number,
): Promise<ParallelGetResult> {
  const script = [
    'i=0',
    'while [ "$i" -lt "$2" ]; do',
    '  curl -sS -o /dev/null -w "%{http_code} %{size_download}\\n" "$1" &',
    '  i=$((i+1))',
    'done',
    'wait',
  ].join('\n');
  const m = await runMeasured('sh', ['-c', script, 'parallel-get', url, String(clients)], { timeoutMs });
  const lines = m.stdout.trim().split('\n').filter(Boolean);
  const good = lines.filter((l) => l === `200 ${expectedBytes}`).length;
  if (m.exitCode !== 0 || good !== clients) {
    throw new Error(
      `${clients} × GET ${url}: ${good} complete (${lines.slice(0, 4).join('; ')}), exit ${m.exitCode}: ${m.stderr.trim().slice(-1000)}`,
    );
  }
  return { measurement: m, bytesPerSecond: (clients * expectedBytes) / (m.wallMs / 1000) };
}
