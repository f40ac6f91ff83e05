export { ConfigError, ENV_PREFIX, KNOWN_ENVS, loadConfig, parseConfig } from './load';
export type { Config } from './schema';
export { configSchema } from './schema';
export { withoutBotPrefix } from './fields';
export { tokenRefused } from './token-refused';
