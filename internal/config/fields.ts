// Field builders whose error messages name what is wrong in words an operator can act on.
// Each message is completed with `, got <value>` by the loader.
import { z } from 'zod';

export const MIN_SECRET_LENGTH = 32;

export const str = () => z.string({ error: 'must be a string' });

export const nonEmpty = () => str().min(1, { error: 'must not be empty' });

export const int = (min: number, max: number) =>
  z.number({ error: `must be an integer ${min}-${max}` }).int({ error: `must be an integer ${min}-${max}` }).min(min, { error: `must be an integer ${min}-${max}` }).max(max, { error: `must be an integer ${min}-${max}` });

export const port = () => int(1, 65535);

export const bool = () => z.boolean({ error: 'must be true or false' });

/** A Discord snowflake written as a string of digits (YAML would round big numbers). */
export const snowflake = () => str().regex(/^\d{1,20}$/, { error: 'must be a Discord id (a string of digits)' });

/**
 * Values that stand for "put yours here": the example's `replace-with-...` and the usual ones.
 * Refused in every environment, so a copied example never runs with a published secret.
 */
const PLACEHOLDER = /^(replace[-_ ]?(with|me)\b|your[-_ ]|change[-_ ]?me$|todo$|x{3,}$|<.*>$)/i;
const notPlaceholder = (value: string) => !PLACEHOLDER.test(value);

/** A credential someone else gave us (Discord's token and client secret): any length, not a placeholder. */
export const credential = () => nonEmpty().refine(notPlaceholder, { error: 'is a placeholder; put the real value here' });

/** A bot token as Discord's REST wants it after `Bot `: written with the prefix or without. */
export const withoutBotPrefix = (token: string) => token.replace(/^\s*Bot\s+/i, '').trim();

/** A secret we generate ourselves. */
export const secret = () =>
  str()
    .min(MIN_SECRET_LENGTH, { error: `must be a secret of at least ${MIN_SECRET_LENGTH} characters` })
    .refine(notPlaceholder, { error: 'is the example\'s placeholder; generate a secret with openssl rand -hex 32' });

export const url = (...protocols: string[]) =>
  str().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}` },
  );

export const httpUrl = () => url('http', 'https');
