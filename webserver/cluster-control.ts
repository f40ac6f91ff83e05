// Cluster actions from the API go to the clusterer as mewld IPC requests, whether it runs in this
// process or in `splashtail bot`: one path, the same one operators' scripts use.
import type { IpcBus } from '../internal/ipc/bus';
import { ApiError } from './api/errors';

export type ClusterAction = 'restart' | 'rollingrestart' | 'reshard';

/** A cluster restart waits for the cluster to come back (its launch can take a minute). */
const ACTION_TIMEOUT_MS = 120_000;

export function ipcControl(bus: IpcBus) {
  return async (action: ClusterAction, args?: Record<string, unknown>): Promise<unknown> => {
    let output: unknown;
    try {
      output = (await bus.request(action, args, { timeoutMs: ACTION_TIMEOUT_MS })).output;
    } catch (err) {
      throw new ApiError(504, 'clusterer_unavailable', `the clusterer did not answer ${action}: ${(err as Error).message}`);
    }
    const error = typeof output === 'object' && output !== null ? (output as { error?: unknown }).error : undefined;
    if (typeof error === 'string') throw new ApiError(409, 'cluster_action_refused', error);
    return output;
  };
}
