// The server layer's public surface.
export {
  type BoundListener,
  type BrookServer,
  type ServerOptions,
  ServerStartError,
  startServer,
} from './server.js';
export { type ServerLimits, defaultServerLimits, serverLimitsFromConfig } from './limits.js';
export { type ServerLogger, silentLogger, stderrLogger } from './logger.js';
export { FrameDecoder, FrameSizeError } from './frame-decoder.js';
export { RequestLog, type RequestLogOptions } from './request-log.js';
