// `Authorization: Bearer <secret>`, compared in constant time (hashing first makes the lengths equal).
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function bearerMatches(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const match = /^Bearer (.+)$/i.exec(header.trim());
  if (!match) return false;
  return timingSafeEqual(digest(match[1]!), digest(secret));
}
