// Webhook `avatar_url` takes a URL, while a backup keeps each author's avatar *hash*: build the
// CDN address from it (discord-api-docs, Image Formatting: avatars/<user id>/<hash>, animated
// hashes start with "a_"; without an avatar, embed/avatars/<(id >> 22) % 6>).
export function avatarUrl(cdn: string, author: { id: string; avatar: string | null }): string {
  if (author.avatar) return `${cdn}/avatars/${author.id}/${author.avatar}.${author.avatar.startsWith('a_') ? 'gif' : 'png'}`;
  return `${cdn}/embed/avatars/${(BigInt(author.id) >> 22n) % 6n}.png`;
}
