// Brook's logs: one line per event an operator must know of, structured so a log pipeline can
// filter on it. Every part logs through `Logger` with its component name bound (server, storage,
// group, txn, cluster, config, admin, http), so a line says where it came from without a prefix
// convention.
//
// `createLogger` is pino writing to stderr synchronously (a line written just before a crash is
// not lost in a buffer): JSON lines, or, when stderr is a terminal, one readable line each from
// the small formatter below. Parts never log record payloads; config values whose names suggest a
// secret are masked by the callers (`maskSecretConfigs`) and by pino's redaction as a backstop.
//
// Embedders and tests may pass any object with info/warn/error (`LoggerLike`); `asLogger` gives
// it the rest (debug, child) so parts never check what they were given.

import type { Logger as PinoLogger } from 'pino';
import { pino } from './commonjs-packages.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFields = Record<string, unknown>;

/** The least a caller must supply: what tests and embedding applications implement. */
export interface LoggerLike {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  debug?(message: string, fields?: LogFields): void;
  child?(bindings: LogFields): LoggerLike;
}

export interface Logger extends LoggerLike {
  debug(message: string, fields?: LogFields): void;
  /** A logger whose every line carries `bindings` (a component name, a topic, a group). */
  child(bindings: LogFields): Logger;
}

/** The levels pino writes, by name. */
const LEVEL_NAMES = new Set<LogLevel>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export interface CreateLoggerOptions {
  readonly level: LogLevel;
  /** Readable lines instead of JSON; defaults to whether stderr is a terminal. */
  readonly pretty?: boolean;
  /** Where lines go; defaults to stderr. */
  readonly write?: (line: string) => void;
}

/** Field names whose values are never logged, wherever they appear. */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
];

export function createLogger(options: CreateLoggerOptions): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const colors = pretty && options.write === undefined && process.stderr.isTTY === true;
  const destination = {
    write: pretty ? (line: string) => write(prettyLine(line, colors)) : write,
  };
  const base = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return wrapPino(base);
}

function wrapPino(instance: PinoLogger): Logger {
  return {
    debug: (message, fields) => instance.debug(fields ?? {}, message),
    info: (message, fields) => instance.info(fields ?? {}, message),
    warn: (message, fields) => instance.warn(fields ?? {}, message),
    error: (message, fields) => instance.error(fields ?? {}, message),
    child: (bindings) => wrapPino(instance.child(bindings)),
  };
}

/** Gives a minimal logger debug (dropped) and child (bindings merged into each line's fields). */
export function asLogger(logger: LoggerLike): Logger {
  if (typeof logger.debug === 'function' && typeof logger.child === 'function')
    return logger as Logger;
  return withBindings(logger, {});
}

function withBindings(logger: LoggerLike, bindings: LogFields): Logger {
  const merge = (fields?: LogFields): LogFields | undefined =>
    Object.keys(bindings).length === 0 ? fields : { ...bindings, ...fields };
  return {
    debug: (message, fields) => logger.debug?.(message, merge(fields)),
    info: (message, fields) => logger.info(message, merge(fields)),
    warn: (message, fields) => logger.warn(message, merge(fields)),
    error: (message, fields) => logger.error(message, merge(fields)),
    child: (more) => withBindings(logger, { ...bindings, ...more }),
  };
}

/** The logger of one part of the broker: `component` on every line. */
export function componentLogger(logger: LoggerLike, component: string): Logger {
  return asLogger(logger).child({ component });
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

const SECRET_CONFIG_NAME = /password|secret|jaas|credential|token|(^|\.)key$/i;

/** Config changes as logged: values of settings whose names suggest a secret are masked. */
export function maskSecretConfigs(
  configs: Iterable<readonly [string, string | null]>,
): Record<string, string | null> {
  const masked: Record<string, string | null> = {};
  for (const [name, value] of configs)
    masked[name] = value !== null && SECRET_CONFIG_NAME.test(name) ? '[redacted]' : value;
  return masked;
}

export function isLogLevel(value: string): value is LogLevel {
  return value === 'silent' || LEVEL_NAMES.has(value as LogLevel);
}

// ─────────────────────────── the terminal format ───────────────────────────

const LEVEL_COLORS: Record<string, string> = {
  trace: '90',
  debug: '36',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};
const OMITTED_KEYS = new Set(['level', 'time', 'pid', 'msg', 'component']);

/**
 * One JSON line as `12:00:01.234 WARN  storage  message key=value ...`: the time of day, the
 * level, the component, the message, then the other fields (strings bare when they have no
 * spaces, anything else as JSON).
 */
export function prettyLine(jsonLine: string, colors = false): string {
  let entry: LogFields;
  try {
    entry = JSON.parse(jsonLine) as LogFields;
  } catch {
    return jsonLine;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = String(entry.level ?? '');
  const levelText = level.toUpperCase().padEnd(5);
  const coloredLevel = colors
    ? `\u001b[${LEVEL_COLORS[level] ?? '0'}m${levelText}\u001b[0m`
    : levelText;
  const component = typeof entry.component === 'string' ? entry.component.padEnd(8) : '        ';
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED_KEYS.has(key))
    .map(([key, value]) =>
      typeof value === 'string' && /^[^\s"=]+$/.test(value)
        ? `${key}=${value}`
        : `${key}=${JSON.stringify(value)}`,
    );
  return `${[time, coloredLevel, component, String(entry.msg ?? ''), ...fields].join(' ')}\n`;
}
