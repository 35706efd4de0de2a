// Parses WWW-Authenticate headers (RFC 7235): `Bearer realm="…",service="…",scope="…"` and `Basic realm="…"`.

export interface AuthChallenge {
  /** Lowercased scheme: 'bearer', 'basic', … */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

/** All challenges in one or more header values; unknown shapes are skipped, never thrown. */
export function parseWwwAuthenticate(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: AuthChallenge[] = [];
  for (const value of values) out.push(...parseOne(value));
  return out;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

function parseOne(input: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let s = input;
  let current: AuthChallenge | undefined;
  const skip = () => {
    s = s.replace(/^[\s,]+/, '');
  };
  skip();
  while (s.length > 0) {
    const tok = TOKEN_RE.exec(s)?.[0];
    if (!tok) {
      // garbage: drop one character and go on rather than fail the whole header
      s = s.slice(1);
      skip();
      continue;
    }
    const after = s.slice(tok.length);
    const eq = /^\s*=\s*/.exec(after);
    if (eq && current && !/^\s*=\s*(?:,|$)/.test(after)) {
      // auth-param: name=value (token or quoted-string)
      let value: string;
      let tail = after.slice(eq[0].length);
      if (tail.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < tail.length && tail[i] !== '"') {
          if (tail[i] === '\\' && i + 1 < tail.length) i++;
          value += tail[i];
          i++;
        }
        tail = tail.slice(i + 1);
      } else {
        const m = /^[^,\s]*/.exec(tail)![0];
        value = m;
        tail = tail.slice(m.length);
      }
      current.params[tok.toLowerCase()] = value;
      s = tail;
    } else if (eq && current) {
      // token68 (e.g. `Negotiate abc==`): keep it as a param
      const m = /^[^,\s]*/.exec(s)![0];
      current.params.token68 = m;
      s = s.slice(m.length);
    } else {
      current = { scheme: tok.toLowerCase(), params: {} };
      out.push(current);
      s = after;
    }
    skip();
  }
  return out;
}
