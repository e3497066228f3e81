/**
 * The process-wide set of live sandboxes, so that an interrupted run (Ctrl-C, `kill`) removes its
 * containers instead of leaving them for `clawgym gc`. Backends register a sandbox as soon as it
 * exists on the engine and unregister it when disposed.
 */

/** What the registry needs from a sandbox: a name for messages and a dispose that never throws. */
export interface Disposable {
  readonly name: string;
  dispose(): Promise<void>;
}

const live = new Set<Disposable>();

export function registerSandbox(sandbox: Disposable): void {
  live.add(sandbox);
}

export function unregisterSandbox(sandbox: Disposable): void {
  live.delete(sandbox);
}

/** The sandboxes not yet disposed (a copy). */
export function liveSandboxes(): Disposable[] {
  return [...live];
}

/**
 * Dispose every live sandbox in parallel, waiting at most `timeoutMs`. Resolves with the names of
 * the sandboxes whose disposal had not finished in time (they are left for `clawgym gc`).
 */
export async function disposeAll(timeoutMs = 10_000): Promise<string[]> {
  const pending = new Set<Disposable>(live);
  if (pending.size === 0) return [];
  const all = Promise.all(
    [...pending].map(async (s) => {
      try {
        await s.dispose();
      } catch {
        // dispose() must not throw; a backend that does is not allowed to stop the others.
      }
      pending.delete(s);
      live.delete(s);
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  // Not unref'd: on a signal, this wait is what keeps the process alive until it exits with 130/143.
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([all, timeout]);
  clearTimeout(timer);
  return [...pending].map((s) => s.name);
}

export interface SignalHandlerOptions {
  /** Called on the first signal, before disposal starts (e.g. to print "cleaning up…"). */
  onSignal?: (signal: NodeJS.Signals) => void;
  /** Longest wait for disposal before exiting anyway (default 10 s). */
  disposeTimeoutMs?: number;
  /** Called instead of `process.exit` (tests). */
  exit?: (code: number) => void;
}

const exitCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };
let installed: (() => void) | undefined;

/**
 * On the first SIGINT/SIGTERM: dispose every live sandbox (bounded wait), then exit with 130/143.
 * A second signal exits at once. Installing twice keeps the first installation; the returned
 * function removes the handlers (tests, or an embedding host that handles signals itself).
 */
export function installSignalHandlers(options: SignalHandlerOptions = {}): () => void {
  if (installed) return installed;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let exiting = false;
  const handler = (signal: NodeJS.Signals): void => {
    const code = exitCodes[signal] ?? 1;
    if (exiting) {
      exit(code);
      return;
    }
    exiting = true;
    try {
      options.onSignal?.(signal);
    } catch {
      // A failing callback must not keep containers alive.
    }
    void disposeAll(options.disposeTimeoutMs ?? 10_000).then(
      (left) => {
        if (left.length > 0) {
          process.stderr.write(`clawgym: could not remove ${left.join(', ')} in time; run \`clawgym gc\`\n`);
        }
        exit(code);
      },
      () => exit(code),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const uninstall = (): void => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
    if (installed === uninstall) installed = undefined;
  };
  installed = uninstall;
  return uninstall;
}
