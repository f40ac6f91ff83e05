// Shard status (ready, resumed, disconnected) and guild join/leave lines, posted to the
// configured Discord channels in batches (one message per channel per interval at most), so
// a reconnect storm never runs into rate limits.
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { Logger } from 'pino';

const MAX_MESSAGE = 1900;

export class StatusLog {
  private readonly rest: REST;
  private readonly pending = new Map<string, string[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: { token: string; apiUrl: string; shardChannel?: string; guildChannel?: string; logger: Logger; intervalMs?: number },
  ) {
    this.rest = new REST({ api: options.apiUrl }).setToken(options.token);
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  shard(line: string): void {
    if (this.options.shardChannel) this.add(this.options.shardChannel, line);
  }

  guild(line: string): void {
    if (this.options.guildChannel) this.add(this.options.guildChannel, line);
  }

  private add(channel: string, line: string): void {
    const lines = this.pending.get(channel) ?? [];
    lines.push(`\`${new Date().toISOString()}\` ${line}`);
    this.pending.set(channel, lines);
  }

  async flush(): Promise<void> {
    for (const [channel, lines] of this.pending) {
      this.pending.delete(channel);
      let content = lines.join('\n');
      if (content.length > MAX_MESSAGE) content = `${content.slice(0, MAX_MESSAGE)}\n… ${lines.length} lines in all`;
      try {
        await this.rest.post(Routes.channelMessages(channel), { body: { content, allowed_mentions: { parse: [] } } });
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, channel }, 'posting the status log failed');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
