/**
 * `clawgym model serve`: the scripted OpenAI-compatible model server of core/src/modelserver, in
 * the foreground until SIGINT or SIGTERM. Argv is parsed in args.ts.
 */
import * as nodePath from 'node:path';
import { loadModelScript, ModelScriptError, startModelServer, type ModelScript, type RecordedRequest } from '../../core/src/modelserver';
import { EXIT_OK, EXIT_PROBLEMS, type Io } from './validate';

export interface ModelServeCommand {
  script: string;
  host: string;
  port: number;
  json: boolean;
}

/** Waits for SIGINT or SIGTERM (or `stop`, for in-process callers). */
function untilStopped(stop?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      stop?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('stop');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (stop?.aborted) done('stop');
    else stop?.addEventListener('abort', onAbort);
  });
}

function requestEvent(line: string, r: RecordedRequest | undefined): Record<string, unknown> {
  if (!r) return { type: 'request', line };
  return { type: 'request', line, task: r.task, selectedBy: r.selectedBy, replyIndex: r.replyIndex, exhausted: r.exhausted, fault: r.fault ?? null, stream: r.stream, model: r.model ?? null, status: r.status };
}

export async function runModelServe(cmd: ModelServeCommand, io: Io, stop?: AbortSignal): Promise<number> {
  let script: ModelScript;
  try {
    script = loadModelScript(nodePath.resolve(io.cwd, cmd.script));
  } catch (e) {
    // Name the script as the user typed it.
    const text = e instanceof ModelScriptError ? e.message.replace(e.source, cmd.script) : e instanceof Error ? e.message : String(e);
    io.stderr(`clawgym: ${text}\n`);
    return EXIT_PROBLEMS;
  }
  const print = cmd.json ? (event: Record<string, unknown>) => io.stdout(`${JSON.stringify(event)}\n`) : undefined;
  let server;
  let count = 0;
  try {
    server = await startModelServer({
      script,
      host: cmd.host,
      port: cmd.port,
      record: false,
      log: (line, request) => {
        if (request) count++;
        if (print) print(requestEvent(line, request));
        else io.stderr(`${line}\n`);
      },
    });
  } catch (e) {
    io.stderr(`clawgym: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_PROBLEMS;
  }
  const n = script.tasks.length;
  if (print) print({ type: 'listening', url: server.url, port: server.port, tasks: script.tasks.map((t) => t.id), default: !!script.default, models: script.models });
  else io.stdout(`model server listening on ${server.url} (${n} task${n === 1 ? '' : 's'} scripted)\n`);
  const why = await untilStopped(stop);
  await server.close();
  io.stderr(`clawgym: model server stopped${why === 'stop' ? '' : ` on ${why}`} after ${count} chat request${count === 1 ? '' : 's'}\n`);
  return EXIT_OK;
}
