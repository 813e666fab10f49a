/** The logging devices need; pino (Fastify's logger) fits it, and tests pass the silent one. */
export interface DeviceLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

const ignore = (): void => {};

/** A logger that drops everything. */
export const silentLogger: DeviceLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
