/**
 * Makes `process.env` a plain object (a snapshot of the environment) in the server process.
 *
 * Why: the `yaml` parser reads `process.env.LOG_TOKENS` once per token (yaml 2.x,
 * `dist/parse/parser.js`). On Node's live environment object every read is a call into C++, and
 * measured here that is about a fifth of the time it takes to parse a 1,000-line task, which the
 * server does after every keystroke. A plain object reads like any other.
 *
 * Safe for the server: it never changes its own environment, loads no native code that reads it,
 * and a child process spawned with the default `env` still receives these variables.
 */
let done = false;

export function snapshotProcessEnv(): void {
  if (done) return;
  done = true;
  process.env = { ...process.env };
}
