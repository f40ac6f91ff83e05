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

export const secret = () =>
  str().min(MIN_SECRET_LENGTH, { error: `must be a secret of at least ${MIN_SECRET_LENGTH} characters` });

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
