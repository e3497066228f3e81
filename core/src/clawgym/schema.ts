/**
 * `data_entry.json` of a ClawGym task directory (see docs/clawtask-format.md, "ClawGym task
 * directories"). The authors' format, not ours: the schema accepts what their harness accepts and
 * keeps unknown keys (they are reported as warnings, and kept in the model so nothing is lost).
 */
import { z } from 'zod';

/** The workspace root ClawGym graders hard-code. */
export const CLAWGYM_WORKSPACE = '/root/.openclaw/workspace';

/** `user_query` lengths outside this range get a warning (published prompts are 500-5,300 chars). */
export const USER_QUERY_MAX_CHARS = 20_000;

/** True when a relative path climbs out of its root with a `..` segment. */
export function hasParentSegment(path: string): boolean {
  return path.split(/[\\/]+/).some((seg) => seg === '..');
}

export const InputMountDir = z
  .string()
  .min(1, { message: '`input_mount_dir` must not be empty' })
  .refine((p) => p.startsWith('/') || !hasParentSegment(p), {
    message: 'a relative `input_mount_dir` must stay under the workspace root (no `..`)',
  })
  .meta({
    description:
      'Where `input_files/` is copied in the sandbox: an absolute path (published data uses `/root/.openclaw/workspace`), or a path relative to the workspace root without `..`. Absent: the task has no inputs.',
    examples: [CLAWGYM_WORKSPACE, 'input'],
  });

export const DataEntry = z
  .looseObject({
    task_id: z.string().meta({ description: 'The task id; equals the folder name in published data.', examples: ['task_0000'] }),
    user_query: z
      .string()
      .min(1, { message: '`user_query` must not be empty' })
      .meta({ description: 'The user\'s message, given to the agent verbatim.' }),
    metadata: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Opaque data passed through (it may carry `category`, `grading_type`, a `rule` rubric).' }),
    input_mount_dir: InputMountDir.optional(),
  })
  .meta({ title: 'ClawGym data_entry.json', description: 'The task description of a ClawGym task directory.' });

export type DataEntryModel = z.output<typeof DataEntry>;

/** The keys the authors' format defines, in their order. */
export const DATA_ENTRY_KEYS = ['task_id', 'user_query', 'metadata', 'input_mount_dir'] as const;

/** JSON Schema of data_entry.json (printed by `clawgym schema data-entry`). */
export function dataEntryJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(DataEntry, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema: schema.$schema, $id: 'https://clawgym.dev/schemas/data_entry.schema.json', ...schema };
}
