// What an operator did wrong, or what the machine refused, when `brook start` fails: a port in
// use, a log directory locked by another broker, a permission denied, a file given as a log
// directory, a listener host that does not resolve. Each becomes one line that names the setting
// to change (log.dirs, listeners) and a stable code; anything not recognised here is a bug, and
// the caller prints its stack trace instead.

import { resolve, sep } from 'node:path';
import { BrookError, type BrookErrorCode } from '../util/errors.js';

export const StartupErrorCode = {
  /** Another process listens on a listener's port. */
  PORT_IN_USE: 'BROOK_START_PORT_IN_USE',
  /** A listener's host does not resolve (a typo, or DNS not reachable). */
  HOST_UNRESOLVABLE: 'BROOK_START_HOST_UNRESOLVABLE',
  /** A listener's address is not one of this machine's. */
  ADDRESS_UNAVAILABLE: 'BROOK_START_ADDRESS_UNAVAILABLE',
  /** Listening was refused (a port below 1024 without the privilege), or a path was. */
  PERMISSION_DENIED: 'BROOK_START_PERMISSION_DENIED',
  /** A log directory, or a directory on its path, is a file. */
  NOT_A_DIRECTORY: 'BROOK_START_NOT_A_DIRECTORY',
  /** The log directory's file system is read-only or full. */
  LOG_DIRECTORY_UNWRITABLE: 'BROOK_START_LOG_DIRECTORY_UNWRITABLE',
  /** Another broker holds the log directory's lock (storage's own code, kept). */
  LOG_DIRECTORY_LOCKED: 'BROOK_LOG_DIRECTORY_LOCKED',
  /** One partition has a log in two log directories (storage's own code, kept). */
  DUPLICATE_LOG: 'BROOK_DUPLICATE_LOG',
  /** Listening failed for another reason the operating system gave. */
  LISTEN_FAILED: 'BROOK_SERVER_LISTEN',
} as const satisfies Record<string, BrookErrorCode>;

export type StartupErrorCode = (typeof StartupErrorCode)[keyof typeof StartupErrorCode];

export interface StartupProblem {
  /** The broker setting to look at: 'log.dirs' or 'listeners'. */
  readonly setting: string;
  readonly code: StartupErrorCode;
  readonly message: string;
}

/** An expected start-up failure, read as a StartupProblem; the original error is its cause. */
export class StartupError extends BrookError {
  declare readonly code: StartupErrorCode;
  readonly setting: string;

  constructor(problem: StartupProblem, cause: unknown) {
    super(problem.code, `${problem.setting}: ${problem.message}`, { cause });
    this.name = 'StartupError';
    this.setting = problem.setting;
  }
}

interface ErrorFields {
  readonly code?: unknown;
  readonly path?: unknown;
  readonly syscall?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

function isUnder(path: string, directory: string): boolean {
  const absolute = resolve(path);
  const root = resolve(directory);
  return absolute === root || absolute.startsWith(root + sep) || root.startsWith(absolute + sep);
}

/**
 * The operator-facing reading of a start-up failure, or null when it is not one of the expected
 * kinds (then it is a bug and deserves its stack trace). `logDirs` tells which paths are log.dirs.
 */
export function startupProblem(error: unknown, logDirs: readonly string[]): StartupProblem | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const problem = problemOf(current as ErrorFields, logDirs);
    if (problem !== null) return problem;
    current = (current as ErrorFields).cause;
  }
  return null;
}

function problemOf(error: ErrorFields, logDirs: readonly string[]): StartupProblem | null {
  const code = typeof error.code === 'string' ? error.code : '';
  const message = typeof error.message === 'string' ? error.message : '';
  if (code === StartupErrorCode.LOG_DIRECTORY_LOCKED || code === StartupErrorCode.DUPLICATE_LOG) {
    return { setting: 'log.dirs', code, message };
  }
  if (code === StartupErrorCode.LISTEN_FAILED) return listenProblem(message);
  const path = typeof error.path === 'string' ? error.path : null;
  const logDir = path === null ? undefined : logDirs.find((directory) => isUnder(path, directory));
  if (path === null || logDir === undefined) return null;
  const inLogDir = (text: string, problemCode: StartupErrorCode): StartupProblem => ({
    setting: 'log.dirs',
    code: problemCode,
    message: text,
  });
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return inLogDir(
        `permission denied on ${path} (${String(error.syscall ?? 'access')}); give the user running brook ownership of the log directory, or choose another`,
        StartupErrorCode.PERMISSION_DENIED,
      );
    case 'ENOTDIR':
      return inLogDir(
        `${logDir} is not a directory (it, or a directory above it, is a file); log.dirs must name directories`,
        StartupErrorCode.NOT_A_DIRECTORY,
      );
    case 'EEXIST':
      return error.syscall === 'mkdir'
        ? inLogDir(
            `${logDir} is not a directory (it, or a directory above it, is a file); log.dirs must name directories`,
            StartupErrorCode.NOT_A_DIRECTORY,
          )
        : null;
    case 'EROFS':
      return inLogDir(
        `${path} is on a read-only file system`,
        StartupErrorCode.LOG_DIRECTORY_UNWRITABLE,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return inLogDir(
        `no space left for ${path}; free some or choose another log directory`,
        StartupErrorCode.LOG_DIRECTORY_UNWRITABLE,
      );
    default:
      return null;
  }
}

/**
 * The server reports a failed listen as BROOK_SERVER_LISTEN with the operating system's words in
 * the message ("cannot listen on PLAINTEXT://h:9092: listen EADDRINUSE: ..."); the errno there says
 * which operator mistake it was.
 */
function listenProblem(message: string): StartupProblem {
  const where = /cannot listen on (\S+?):? /.exec(message)?.[1] ?? 'a listener';
  const port = /:(\d+)$/.exec(where)?.[1];
  const host = /:\/\/\[?([^\]]*)\]?:\d+$/.exec(where)?.[1];
  const problem = (code: StartupErrorCode, text: string): StartupProblem => ({
    setting: 'listeners',
    code,
    message: `cannot listen on ${where}: ${text}`,
  });
  if (/\bEADDRINUSE\b/.test(message)) {
    return problem(
      StartupErrorCode.PORT_IN_USE,
      `port ${port ?? '?'} is already in use by another process (another broker?); stop it or choose another port`,
    );
  }
  if (/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)\b/.test(message)) {
    return problem(
      StartupErrorCode.HOST_UNRESOLVABLE,
      `host ${host ?? '?'} does not resolve to an address; use an IP address or a name this machine resolves`,
    );
  }
  if (/\bEADDRNOTAVAIL\b/.test(message)) {
    return problem(
      StartupErrorCode.ADDRESS_UNAVAILABLE,
      `${host ?? 'the host'} is not an address of this machine; listen on one of its addresses (0.0.0.0 for all) and put the public name in advertised.listeners`,
    );
  }
  if (/\bEACCES\b/.test(message)) {
    return problem(
      StartupErrorCode.PERMISSION_DENIED,
      `permission denied (ports below 1024 need privileges); use a port above 1023`,
    );
  }
  const reason = message.replace(/^cannot listen on \S+ /, '');
  return problem(StartupErrorCode.LISTEN_FAILED, reason);
}
