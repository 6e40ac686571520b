// The CommonJS packages every broker loads, taken with `require` rather than an ESM import.
//
// Node imports a CommonJS module into ESM by first lexing its source for the names it exports
// (cjs-module-lexer). For these two that is 36 KB of source at every start: enough for V8 to
// optimise the lexer with TurboFan, whose compilation left 2-4 MB more resident memory in an idle
// broker (docs/BENCHMARKS.md, "Idle RSS"). A `require` reads no source for names. Import these
// from here, never from the packages themselves.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const { crc32c } = require('@node-rs/crc32') as typeof import('@node-rs/crc32');
export const { pino } = require('pino') as typeof import('pino');
