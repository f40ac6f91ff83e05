// Runs the built ./splashtail as a child process, as users do.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const BIN = resolve(ROOT, 'splashtail');

export function runSync(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; bin?: string } = {}) {
  const result = spawnSync(options.bin ?? BIN, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first output line matching `pattern`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function start(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; bin?: string; preArgs?: string[] } = {}): Running {
  const child = spawn(options.bin ?? BIN, [...(options.preArgs ?? []), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const w of [...waiters]) {
      const line = text.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => text,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolvePromise, reject) => {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return resolvePromise(line);
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern} in output:\n${text.slice(-4000)}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolvePromise(l);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before ${pattern}; output:\n${text.slice(-4000)}`));
        });
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a TypeScript file (a test fixture) with tsx, output captured like `start`. */
export function startScript(file: string, args: string[] = []): Running {
  return start([file, ...args], { bin: process.execPath, preArgs: ['--import', 'tsx'] });
}
