// `listeners` and `advertised.listeners`: Kafka's `NAME://HOST:PORT` syntax, several separated by
// commas. HOST may be empty (every interface) or a bracketed IPv6 address; PORT 0 asks the
// operating system for a free port, which the server reports once it is listening.

export interface ListenerAddress {
  /** The listener name, upper-cased as Kafka does (PLAINTEXT, INTERNAL, ...). */
  readonly name: string;
  /** As written, without IPv6 brackets; '' means every interface. */
  readonly host: string;
  readonly port: number;
}

const LISTENER_PATTERN = /^([A-Za-z][A-Za-z0-9_]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^:\s[\]/]*):(\d+)$/;

/** Parses one `NAME://HOST:PORT`; throws an Error whose message says what is wrong. */
export function parseListener(text: string): ListenerAddress {
  const match = LISTENER_PATTERN.exec(text.trim());
  if (match === null) {
    throw new Error(
      `${JSON.stringify(text)} is not of the form NAME://HOST:PORT (e.g. PLAINTEXT://127.0.0.1:9092)`,
    );
  }
  const [, name, rawHost, rawPort] = match;
  const port = Number(rawPort);
  if (port > 65535) throw new Error(`port ${port} in ${JSON.stringify(text)} is above 65535`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { name: name.toUpperCase(), host, port };
}

/** Parses a list of listeners and refuses two with the same name (Kafka does too). */
export function parseListeners(items: readonly string[]): ListenerAddress[] {
  const listeners = items.map(parseListener);
  const names = new Set<string>();
  for (const listener of listeners) {
    if (names.has(listener.name)) throw new Error(`listener name ${listener.name} appears twice`);
    names.add(listener.name);
  }
  return listeners;
}

/** `PLAINTEXT://127.0.0.1:9092`, with IPv6 hosts bracketed again. */
export function formatListener(listener: ListenerAddress): string {
  return `${listener.name}://${formatHostPort(listener.host, listener.port)}`;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
