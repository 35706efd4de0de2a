// Go's time.ParseDuration subset that VEX manifests use for update_interval ("24h", "1h30m", "90s").
const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  '\u00b5s': 1e-6, // micro sign
  '\u03bcs': 1e-6, // Greek mu
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Seconds, or undefined when `text` is not a Go duration. */
export function goDurationSeconds(text: string): number | undefined {
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== body.length) return undefined;
  return text.startsWith('-') ? -total : total;
}
