/**
 * The smaller commands: `import`, `export`, `image build`, `gc`. Argv is parsed in args.ts; the
 * work is in core.
 */
import * as nodePath from 'node:path';
import Docker from 'dockerode';
import { exportClawGym, importClawGym, type ConvertReport } from '../../core/src/clawgym/convert';
import { exportSft } from '../../core/src/export/sft';
import { DEFAULT_IMAGE } from '../../core/src/model/schema';
import { createDockerBackend } from '../../core/src/sandbox/docker';
import { gcSandboxes } from '../../core/src/sandbox/gc';
import { buildAgentImage, OPENCLAW_IMAGE } from '../../core/src/agent/openclawImage';
import { buildImage } from '../../core/src/sandbox/image';
import { installSignalHandlers } from '../../core/src/sandbox/registry';
import { formatMs } from '../../core/src/run/agents';
import type { ExportSftCommand } from './args';
import { displayPath } from './report';
import { EXIT_OK, EXIT_PROBLEMS, type Io } from './validate';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A reachable engine, or an exit after saying why not. */
async function engine(io: Io): Promise<Docker | undefined> {
  const backend = createDockerBackend();
  try {
    await backend.ping();
    return new Docker();
  } catch (e) {
    io.stderr(`clawgym: ${message(e)}\n`);
    return undefined;
  }
}

export async function runImageBuild(cmd: { tag?: string; method: 'auto' | 'dockerfile' | 'debootstrap'; force: boolean; agent?: 'openclaw' }, io: Io): Promise<number> {
  const docker = await engine(io);
  if (!docker) return EXIT_PROBLEMS;
  const tag = cmd.tag ?? (cmd.agent ? OPENCLAW_IMAGE : DEFAULT_IMAGE);
  // debootstrap runs in its own process group, so Ctrl-C reaches it only through us: the build
  // registers itself, and the handlers stop it and remove its half-made rootfs.
  const uninstall = installSignalHandlers({ onSignal: () => io.stderr('\nclawgym: stopping the image build and cleaning up\n') });
  try {
    const onLog = (line: string) => io.stderr(`  ${line.replace(/\n$/, '')}\n`);
    const r = cmd.agent ? await buildAgentImage(docker, { agent: cmd.agent, tag, force: cmd.force, onLog }) : await buildImage(docker, { tag, method: cmd.method, force: cmd.force, onLog });
    if (!r.built) io.stderr(`clawgym: ${r.reason ?? `${tag} already exists`}\n`);
    else if (cmd.agent) io.stderr(`clawgym: built ${tag} from the npm registry${r.cached ? ' (cached packages)' : ''} in ${formatMs(r.durationMs)}\n`);
    else io.stderr(`clawgym: built ${tag} with ${r.method}${r.cached ? ' (from the cached rootfs)' : ''} in ${formatMs(r.durationMs)}${r.reason ? `; ${r.reason}` : ''}\n`);
    return EXIT_OK;
  } catch (e) {
    io.stderr(`clawgym: could not build ${tag}: ${message(e)}\n`);
    return EXIT_PROBLEMS;
  } finally {
    uninstall();
  }
}

export async function runGc(cmd: { all: boolean; dryRun: boolean }, io: Io): Promise<number> {
  const docker = await engine(io);
  if (!docker) return EXIT_PROBLEMS;
  try {
    const r = await gcSandboxes(docker, { all: cmd.all, dryRun: cmd.dryRun });
    for (const item of r.removed) io.stdout(`${cmd.dryRun ? 'would remove' : 'removed'} ${item.name} (run ${item.run}, trial ${item.trial}, ${item.reason})\n`);
    io.stderr(`clawgym: ${r.removed.length} sandbox${r.removed.length === 1 ? '' : 'es'} ${cmd.dryRun ? 'to remove' : 'removed'}, ${r.kept.length} kept (live runs or other hosts${cmd.all ? '' : '; --all removes them too'})\n`);
    return EXIT_OK;
  } catch (e) {
    io.stderr(`clawgym: gc failed: ${message(e)}\n`);
    return EXIT_PROBLEMS;
  }
}

const CONVERSIONS = {
  import: { convert: importClawGym, verb: 'imported' },
  export: { convert: exportClawGym, verb: 'exported' },
} as const;

/** `clawgym import` and `clawgym export`: the same shape, the other direction. */
export async function runConvert(direction: keyof typeof CONVERSIONS, paths: readonly string[], out: string, overwrite: boolean, io: Io): Promise<number> {
  const { convert, verb } = CONVERSIONS[direction];
  try {
    const report = convert(paths.map((p) => nodePath.resolve(io.cwd, p)), nodePath.resolve(io.cwd, out), { overwrite });
    return printConversion(verb, report, io);
  } catch (e) {
    io.stderr(`clawgym: ${direction} failed: ${message(e)}\n`);
    return EXIT_PROBLEMS;
  }
}

function printConversion(verb: string, report: ConvertReport, io: Io): number {
  for (const w of report.converted) {
    io.stdout(`${verb} ${w.id} -> ${displayPath(w.file ?? w.dir, io.cwd)}\n`);
    for (const warning of w.warnings) io.stderr(`  warning: ${warning}\n`);
  }
  for (const f of report.failed) io.stderr(`clawgym: ${displayPath(f.source, io.cwd)}: ${f.error}\n`);
  const n = report.converted.length;
  io.stderr(`clawgym: ${n} task${n === 1 ? '' : 's'} ${verb}${report.failed.length ? `, ${report.failed.length} failed` : ''}\n`);
  return report.failed.length ? EXIT_PROBLEMS : EXIT_OK;
}

/** `clawgym export sft`: trial trajectories to fine-tuning JSONL (core/src/export/sft.ts). */
export async function runExportSft(cmd: ExportSftCommand, io: Io): Promise<number> {
  const out = nodePath.resolve(io.cwd, cmd.out);
  let result;
  try {
    result = exportSft({
      runs: cmd.runs.map((p) => nodePath.resolve(io.cwd, p)),
      out,
      format: cmd.format,
      ...(cmd.minReward !== undefined ? { minReward: cmd.minReward } : {}),
      tasks: cmd.tasks,
      onlySolved: cmd.onlySolved,
      includeTokens: cmd.includeTokens,
    });
  } catch (e) {
    io.stderr(`clawgym: export sft failed: ${message(e)}\n`);
    return EXIT_PROBLEMS;
  }
  // Trials the filters left out are counted; the others are named with the reason.
  const filtered = result.skipped.filter((s) => /^(task .* not selected|reward .* is below .*|not solved .*)$/.test(s.reason));
  for (const s of result.skipped) if (!filtered.includes(s)) io.stderr(`clawgym: skipped ${displayPath(s.path, io.cwd)}: ${s.reason}\n`);
  const n = result.written;
  io.stderr(`clawgym: wrote ${n} example${n === 1 ? '' : 's'} (${cmd.format}) to ${displayPath(out, io.cwd)}${filtered.length ? `; ${filtered.length} trial${filtered.length === 1 ? '' : 's'} filtered out` : ''}${result.skipped.length - filtered.length ? `; ${result.skipped.length - filtered.length} skipped` : ''}\n`);
  return n > 0 ? EXIT_OK : EXIT_PROBLEMS;
}
