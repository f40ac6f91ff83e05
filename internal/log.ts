// One pino logger per process; secrets are redacted by key name wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    redact: {
      paths: ['token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization', 'password', '*.password'],
      censor: '<redacted>',
    },
  });
}
