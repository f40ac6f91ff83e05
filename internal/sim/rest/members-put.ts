// Add Guild Member (PUT /guilds/:guild/members/:user), per discord-api-docs: a bot token in
// Authorization, the user's OAuth2 access token with `guilds.join` in the body; 201 with the
// member, or 204 when the user already is one. The bot must be in the guild with Create Invite,
// and `roles`, `nick`, `mute`, `deaf` need Manage Roles, Manage Nicknames, Mute and Deafen Members
// (roles also below the bot's highest). A banned user is refused (40007). Discord writes no
// audit entry for a join; it does for what the bot gave at once: the roles (MEMBER_ROLE_UPDATE)
// and a nick, mute or deaf (MEMBER_UPDATE), by the bot. The endpoint takes no audit-log reason.
import { type Static, Type } from '@sinclair/typebox';
import { type APIGuildMember, AuditLogEvent, GuildFeature, type GatewayGuildMemberAddDispatchData, type RESTPutAPIGuildMemberJSONBody } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { addMember } from '../generate';
import { P } from '../permissions';
import { actor, DiscordError, guildOf, need, needAbove, type SimContext, unknown } from './context';
import { liveGrant } from './oauth2';
import { Snowflake } from './schemas';

const MemberPut = Type.Object({
  access_token: Type.String({ minLength: 1, maxLength: 200 }),
  nick: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  roles: Type.Optional(Type.Array(Snowflake, { maxItems: 350 })),
  mute: Type.Optional(Type.Boolean()),
  deaf: Type.Optional(Type.Boolean()),
});

const invalidAccessToken = () => new DiscordError(403, 50025, 'Invalid OAuth2 access token');

export function memberPutRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { world } = ctx;
  app.put<{ Params: { guild: string; id: string } }>('/guilds/:guild/members/:id', { schema: { body: MemberPut } }, (req, reply) => {
    const a = actor(ctx, req);
    // Only a bot token of the application the user authorized may add them.
    if (a.kind !== 'bot') throw new DiscordError(401, 0, '401: Unauthorized');
    const g = guildOf(ctx, req.params.guild);
    const b: RESTPutAPIGuildMemberJSONBody = req.body as Static<typeof MemberPut>;
    need(g, a.userId, P.CreateInstantInvite);
    if (b.roles !== undefined) need(g, a.userId, P.ManageRoles);
    if (b.nick !== undefined) need(g, a.userId, P.ManageNicknames);
    if (b.mute !== undefined) need(g, a.userId, P.MuteMembers);
    if (b.deaf !== undefined) need(g, a.userId, P.DeafenMembers);
    const user = world.users.get(req.params.id);
    const grant = liveGrant(ctx, b.access_token, 'guilds.join');
    if (!grant || grant.userId !== req.params.id) throw invalidAccessToken();
    if (!user) throw unknown('User');
    if (g.members.has(user.id)) return reply.status(204).send();
    if (g.bans.has(user.id)) throw new DiscordError(403, 40007, 'The user is banned from this guild.');
    const roles = [...new Set(b.roles ?? [])].filter((id) => id !== g.guild.id);
    for (const id of roles) {
      const role = g.roles.get(id);
      if (!role) throw unknown('Role');
      needAbove(g, a.userId, role.position);
    }

    addMember(g, user, roles);
    const member = g.members.get(user.id)!;
    // With Membership Screening on, Discord adds members as pending.
    const pending = g.guild.features.includes(GuildFeature.MemberVerificationGateEnabled);
    Object.assign(member, { joined_at: new Date().toISOString(), nick: b.nick ?? null, mute: b.mute ?? false, deaf: b.deaf ?? false, pending } satisfies Partial<APIGuildMember>);
    const added: GatewayGuildMemberAddDispatchData = { ...member, guild_id: g.guild.id };
    world.emitDispatch('GUILD_MEMBER_ADD', added, g.guild.id);
    if (roles.length) {
      const given = roles.map((id) => ({ id, name: g.roles.get(id)!.name }));
      world.addAudit(g, { action_type: AuditLogEvent.MemberRoleUpdate, user_id: a.userId, target_id: user.id, changes: [{ key: '$add', new_value: given }] });
    }
    const changes = (['nick', 'mute', 'deaf'] as const).filter((key) => b[key] !== undefined).map((key) => ({ key, new_value: b[key] }));
    if (changes.length) world.addAudit(g, { action_type: AuditLogEvent.MemberUpdate, user_id: a.userId, target_id: user.id, changes });
    return reply.status(201).send(member);
  });
}
