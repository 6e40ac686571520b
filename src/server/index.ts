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
export { FrameSizeError, requestFrameReader } from './request-frames.js';
export { RequestLog, type RequestLogOptions } from './request-log.js';
