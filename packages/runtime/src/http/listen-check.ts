// `config check` (and the pre-flight of run and reload): can this host listen on a configured address?
// Parses it as the listener will and binds its host on an ephemeral port (closed at once), so a bad
// port, an unknown host name or an address this host does not have is found before start-up.
// Whether the port itself is free is not checked: the running daemon holds it.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { parseListen } from './listen-address.js';

export async function listenProblem(listen: string): Promise<string | undefined> {
  let host: string;
  try {
    ({ host } = parseListen(listen));
  } catch (err) {
    return (err as Error).message;
  }
  const server = createServer();
  try {
    server.listen({ host, port: 0 });
    await Promise.race([
      once(server, 'listening'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer binding ${host}`)), 3000).unref(),
      ),
    ]);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this host`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host name ${host} does not resolve`;
    return `cannot listen on ${host}: ${(err as Error).message}`;
  } finally {
    server.close();
  }
}
