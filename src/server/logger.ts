// The server logs what an operator needs to see (a client closed for a protocol violation, a
// handler that threw) through this small interface, so tests can capture it and an embedding
// application can route it.

export interface ServerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  const rendered =
    fields === undefined
      ? ''
      : ' ' +
        JSON.stringify(fields, (_key, value) =>
          typeof value === 'bigint' ? value.toString() : value,
        );
  return `${new Date().toISOString()} ${level} ${message}${rendered}`;
}

/** Warnings and errors to stderr; routine events (connections opening and closing) are not logged. */
export const stderrLogger: ServerLogger = {
  info() {},
  warn(message, fields) {
    process.stderr.write(line('WARN', message, fields) + '\n');
  },
  error(message, fields) {
    process.stderr.write(line('ERROR', message, fields) + '\n');
  },
};

export const silentLogger: ServerLogger = { info() {}, warn() {}, error() {} };
