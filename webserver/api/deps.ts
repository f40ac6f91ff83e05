// What the /api/v1 routes share.
import type { Redis } from 'ioredis';
import type { Config } from '../../internal/config';
import type { MirrorRepository } from '../../mirror/repository';
import type { SettingsStore } from '../../bot/modules/settings-store';
import type { ApiTokens } from '../api-tokens';
import type { ClustersView } from '../app';
import type { DiscordClient } from '../discord';
import type { JobsClient } from '../jobs-client';
import type { Limit } from '../rate-limit';
import type { SessionStore } from '../sessions';

export interface ApiDeps {
  config: Config;
  redis: Redis;
  sessions: SessionStore;
  tokens: ApiTokens;
  discord: DiscordClient;
  jobs: JobsClient;
  settings: SettingsStore;
  mirror: MirrorRepository;
  clusters: ClustersView;
  limits: { ip: Limit; user: Limit };
}
