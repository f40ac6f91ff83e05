// The guild state's serialized entities, packed: a member's JSON is mostly keys and nulls that
// every member repeats ("nick":null,"avatar":null,..., about 200 of its 320 bytes). Each such
// fragment is replaced by a control character, which JSON text never holds raw (JSON.stringify
// escapes U+0000-U+001F), so unpacking is exact whatever the entity holds; a fragment a payload
// lacks (another key order, a field Discord adds) is simply left as it is.

/** Fragments by how often they appear in members, presences, roles, emojis and voice states. */
export const FRAGMENTS = [
  'null',
  'false',
  'true',
  '{"user":{"id":"',
  '","username":"',
  '","discriminator":"',
  ',"global_name":',
  ',"avatar":',
  '},"roles":[',
  ',"nick":',
  ',"banner":',
  ',"joined_at":"',
  ',"premium_since":',
  ',"deaf":',
  ',"mute":',
  ',"flags":',
  ',"pending":',
  ',"communication_disabled_until":',
  ',"bot":',
  '"},"status":"',
  ',"activities":[',
  ',"client_status":{"',
  ',"color":',
  ',"colors":{"primary_color":',
  ',"secondary_color":',
  ',"tertiary_color":',
  ',"hoist":',
  ',"icon":',
  ',"unicode_emoji":',
  ',"position":',
  ',"permissions":"',
  ',"managed":',
  ',"mentionable":',
  '{"id":"',
  '","name":"',
  ',"animated":',
  ',"available":',
  ',"require_colons":',
  ',"channel_id":"',
  '","user_id":"',
  '","session_id":"',
  ',"self_deaf":',
  ',"self_mute":',
  ',"self_video":',
  ',"suppress":',
  ',"request_to_speak_timestamp":',
  ',"self_stream":',
  '"type":',
  ',"state":',
  '"desktop":"',
  'online',
  ',"premium_type":',
  ',"public_flags":',
  ',"avatar_decoration_data":',
] as const;

/** Codes: one control character for the first 30 fragments, U+001F and one more after that. */
const ESCAPE = '\u001f';
const CODES = FRAGMENTS.map((_, i) => (i < 30 ? String.fromCharCode(i + 1) : ESCAPE + String.fromCharCode(0x20 + i - 30)));
const BY_FRAGMENT = new Map<string, string>(FRAGMENTS.map((f, i) => [f, CODES[i]!]));
const BY_CODE = new Map<string, string>(FRAGMENTS.map((f, i) => [CODES[i]!, f]));
// Longest first, so that a fragment is never cut by one it contains ('null' in a longer one).
const PACK = new RegExp([...FRAGMENTS].sort((a, b) => b.length - a.length).map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
// eslint-disable-next-line no-control-regex -- the codes are control characters
const UNPACK = /\u001f.|[\u0001-\u001e]/g;

export function pack(json: string): string {
  return json.replace(PACK, (f) => BY_FRAGMENT.get(f)!);
}

export function unpack(packed: string): string {
  return packed.replace(UNPACK, (c) => BY_CODE.get(c)!);
}
