/**
 * Choosing where sandboxes run. `docker` needs a reachable engine and the image; `local` is the
 * weaker fallback (a temporary directory, bubblewrap when present); `auto` takes Docker when it
 * works and says plainly why it fell back when it does not.
 */
import { createDockerBackend } from './docker';
import { createLocalBackend } from './local';
import { SandboxError, type SandboxBackend } from './types';

export type BackendChoice = 'auto' | 'docker' | 'local';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'docker', 'local'];

export interface SelectedBackend {
  backend: SandboxBackend;
  /** Said to the user when the choice is weaker than asked for or than Docker. */
  warning?: string;
}

/**
 * Pick a backend. `images` are the images the run needs: with `auto`, a missing image makes the
 * run fall back to `local` (with the reason); with `docker` it is an `image-missing` error.
 */
export async function selectBackend(choice: BackendChoice, images: readonly string[], options: { signal?: AbortSignal } = {}): Promise<SelectedBackend> {
  if (choice === 'local') return localWithWarning();
  const docker = createDockerBackend();
  let problem: string | undefined;
  try {
    await docker.ping(options.signal);
    const missing: string[] = [];
    for (const image of new Set(images)) if (!(await docker.imageExists(image))) missing.push(image);
    if (missing.length) {
      const msg = `the sandbox image ${missing.join(', ')} does not exist on ${docker.describe()}: run \`clawgym image build\`${missing.some((m) => m !== 'clawgym/sandbox:latest') ? ' (or build/pull the task\'s image)' : ''}`;
      if (choice === 'docker') throw new SandboxError('image-missing', msg);
      problem = msg;
    }
  } catch (e) {
    if (choice === 'docker') throw e;
    if (e instanceof SandboxError && e.kind === 'cancelled') throw e;
    problem ??= e instanceof Error ? e.message : String(e);
  }
  if (!problem) return { backend: docker };
  const local = localWithWarning();
  return { backend: local.backend, warning: `Docker is not usable (${problem}); ${local.warning}` };
}

function localWithWarning(): SelectedBackend {
  const backend = createLocalBackend();
  const how =
    backend.isolation === 'bubblewrap'
      ? 'running in a temporary directory isolated with bubblewrap (weaker than a container: no memory/CPU limits, the host\'s programs instead of the image)'
      : 'running in a temporary directory WITHOUT isolation (commands run on this machine as you; graders that hard-code the workspace path cannot work). Install Docker, or bubblewrap, for real isolation';
  return { backend, warning: how };
}
