// After an import: asks the daemon on admin.listen, if one runs, to take up the new versions now
// (its oci-sync and vexhub-mirror runs check the store without any network when there is no upstream).
export interface DaemonNotice {
  url: string;
  notified: string[];
  text: string;
}

export async function notifyDaemon(adminListen: string, vex: boolean): Promise<DaemonNotice> {
  const url = `http://${adminListen}`;
  if (/:0$/.test(adminListen)) return { url, notified: [], text: 'no daemon to tell (admin.listen port 0)' };
  const jobs = ['oci-sync', ...(vex ? ['vexhub-mirror'] : [])];
  const notified: string[] = [];
  for (const job of jobs) {
    try {
      const res = await fetch(`${url}/jobs/${job}/run`, {
        method: 'POST',
        // The admin guard's proof that no web page sent it.
        headers: { 'x-trivy-mirror': 'import' },
        signal: AbortSignal.timeout(3000),
      });
      await res.arrayBuffer();
      if (res.status === 202) notified.push(job);
    } catch {
      return {
        url,
        notified,
        text: `no daemon answering at ${url}: a daemon started later serves the imported versions at once`,
      };
    }
  }
  return {
    url,
    notified,
    text:
      notified.length === jobs.length
        ? `daemon at ${url} told to take up the new versions (${notified.join(', ')} runs started)`
        : `daemon at ${url} did not start every run (${notified.join(', ') || 'none'} of ${jobs.join(', ')}); POST ${url}/jobs/oci-sync/run`,
  };
}
