// Writes test-fixtures/model-scripts/fixtures.json: scripted model replies for the example tasks in
// test-fixtures/tasks, so that the built-in agent solves each one through its real tools (list_dir
// and read_file in parallel, write_file of the task's reference solution, exec of it, then
// finish). `npm start` and the agent tests replay it with the bundled model server; a test checks
// the committed file is what this script writes (`node scripts/gen-model-scripts.mjs` rewrites it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { findTasks } = await import(join(root, 'out/core/src/clawgym/find.js'));
const { loadTask } = await import(join(root, 'out/core/src/run/load.js'));

export const TASKS = ['roommate-balances', 'task_1001', 'garden-meeting-notes'];

const found = findTasks([join(root, 'test-fixtures/tasks')], root, { onePerTask: true }).tasks;
const tasks = {};
for (const entry of found) {
  const { task } = loadTask(entry);
  if (!task || !TASKS.includes(task.id)) continue;
  const first = task.files.find((f) => (f.type ?? 'file') === 'file');
  const firstRel = first ? first.path.slice(task.root.length + 1) : '.';
  tasks[task.id] = {
    replies: [
      {
        content: 'Let me look at the workspace first.',
        tool_calls: [
          { name: 'list_dir', arguments: { path: '.', depth: 3 } },
          { name: 'read_file', arguments: { path: firstRel } },
        ],
      },
      {
        content: 'I will write a script that does the work, then run it.',
        tool_calls: [{ name: 'write_file', arguments: { path: '/tmp/work/solve.sh', content: task.solution.script } }],
      },
      { tool_calls: [{ name: 'exec', arguments: { command: 'bash /tmp/work/solve.sh && echo solved' } }] },
      { tool_calls: [{ name: 'exec', arguments: { command: 'rm -rf /tmp/work && ls' } }] },
      { tool_calls: [{ name: 'finish', arguments: { message: `Done: the task ${task.id} is complete.` } }] },
    ],
  };
}
const missing = TASKS.filter((t) => !tasks[t]);
if (missing.length) throw new Error(`tasks not found: ${missing.join(', ')}`);
const script = {
  model: 'scripted',
  tasks,
  default: { replies: [{ content: 'This scripted model has no replies for this task (see test-fixtures/model-scripts).' }] },
};
const out = join(root, 'test-fixtures/model-scripts/fixtures.json');
const text = JSON.stringify(script, null, 2) + '\n';
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) {
    console.error('test-fixtures/model-scripts/fixtures.json is out of date: run node scripts/gen-model-scripts.mjs');
    process.exit(1);
  }
} else writeFileSync(out, text);
