// The server logs what an operator needs to see (a client closed for a protocol violation, a
// handler that threw, connections refused by a limit) through the broker's structured logger
// (src/util/logger.ts). `ServerLogger` is the minimal shape tests and embedding applications may
// pass instead.

import { type LoggerLike, createLogger, silentLogger as silent } from '../util/logger.js';

export type ServerLogger = LoggerLike;

/** Warnings and errors to stderr; routine events (connections opening and closing) are not logged. */
export const stderrLogger: ServerLogger = createLogger({ level: 'warn' });

export const silentLogger: ServerLogger = silent;
