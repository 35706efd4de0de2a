// The schema's check of a proxy URL (`proxy:`, `registries[].proxy`): what ProxyRouter would refuse.
// Its own file, because the config schema needs it and network-settings.ts needs the config's type.
import { ProxyRouter } from '@trivy-mirror/oci';

/** A proxy URL problem for the schema, or undefined when the value parses. */
export function proxyUrlProblem(value: string): string | undefined {
  if (value === 'none') return undefined;
  try {
    new ProxyRouter({ settings: { url: value }, env: {} });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
