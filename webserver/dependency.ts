// Routes that need Redis answer 503 within a few seconds while it is down (the client queues
// commands and retries forever, so without a deadline the request would hang).
import { Unavailable } from '../internal/http/service';

export const DEPENDENCY_DEADLINE_MS = 3_000;


export async function within<T>(what: 'Redis', work: Promise<T>, ms = DEPENDENCY_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unavailable(`${what} is unavailable; try again shortly`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (err) {
    throw err instanceof Unavailable ? err : new Unavailable(`${what} is unavailable; try again shortly`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
