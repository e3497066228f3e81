/**
 * Plain data spoken by the language features. Offsets are UTF-16 code units into the document
 * text; `server/` converts them to LSP types at the boundary. Nothing here imports an editor API.
 */
import type { ParsedTask, Span } from '../syntax';
export type { Span } from '../syntax';

export type Severity = 'error' | 'warning' | 'info' | 'hint';

/**
 * Stable diagnostic codes. They appear in the CLI, the editor and `--json`; never rename one.
 * docs/diagnostics.md lists them (a test keeps the list in sync).
 */
export const DIAGNOSTIC_CODES = {
  'yaml-syntax': 'The file is not valid YAML.',
  'duplicate-key': 'A key appears twice in the same mapping.',
  'not-a-mapping': 'The document (or a section) must be a mapping of keys to values.',
  'missing-field': 'A required field is missing.',
  'invalid-type': 'A value has the wrong type.',
  'invalid-value': 'A value is out of range, not one of the allowed values, or malformed.',
  'unknown-key': 'A key the format does not define (use an `x-` prefix for tool data).',
  'unsupported-version': 'The format version is not one this tool understands.',
  'check-kind-missing': 'A check has no kind key (file_exists, json, command, …).',
  'check-kind-multiple': 'A check has more than one kind key.',
  'duplicate-id': 'Two checks or rubric items share an id.',
  'from-missing': 'A file or folder referenced from the task does not exist on disk.',
  'invalid-regex': 'A regular expression does not compile, or needs a feature the linear-time engine lacks (lookaround, backreferences).',
  'regex-backtracking': 'A regular expression or glob can backtrack catastrophically in engines that backtrack (Python, JavaScript).',
  'invalid-duration': 'A duration is not like 30s, 15m, 1h or a number of seconds.',
  'invalid-size': 'A size is not like 512m, 2g or a number of bytes.',
  'path-absolute': 'A path that must be relative is absolute.',
  'path-escape': 'A path leaves its root through `..`.',
  'check-passes-untouched': 'A check already passes on the untouched workspace, so it proves nothing.',
  'no-checks': 'The task has no checks and no reward script: nothing can verify it.',
  'rubric-file-unmentioned': 'A rubric file is not mentioned by any check or by the intent.',
  'solution-conflict': 'A field needs exactly one of two alternatives.',
  // ClawGym task directories (core/src/clawgym/)
  'json-syntax': 'The file is not valid JSON.',
  'missing-file': 'A file a ClawGym task directory needs (data_entry.json, reward/reward.sh) is missing.',
  'task-id-mismatch': 'A ClawGym task_id differs from its folder name.',
  'inputs-ignored': 'The task has input_files/ but no input_mount_dir, so its inputs would never reach the workspace.',
  'symlink-escape': 'A symbolic link points outside the task directory.',
  // Reading files from disk (core/src/input.ts)
  'special-file': 'A task file, or a file it copies in, is a folder, FIFO, socket or device instead of a regular file.',
  'file-too-large': 'A task file, or a file it copies in, is over its size cap.',
  'invalid-encoding': 'A task file is not valid UTF-8.',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface Diagnostic {
  span: Span;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  /** Machine-readable data for quick fixes, e.g. `{ suggestion: 'file_exists' }`. */
  data?: DiagnosticData;
  /** Marks unnecessary/deprecated code for editors that render it. */
  tags?: ('unnecessary' | 'deprecated')[];
}

export interface DiagnosticData {
  /** did-you-mean replacement for the text at `span`. */
  suggestion?: string;
  /** Missing required field names (for "add missing field"). */
  missing?: string[];
  /** The JSON path of the node the diagnostic is about. */
  path?: (string | number)[];
}

/** A task document as the language features see it: parsed once per (uri, version). */
export interface TaskDocument {
  /** A URI or file path; only used to resolve `from` paths through {@link FileSystemHost}. */
  readonly uri: string;
  readonly version: number;
  readonly parsed: ParsedTask;
  /** Absolute directory of the task file on disk, when it has one. */
  readonly dir?: string;
}

/**
 * What the language features may ask of the disk. Injected so tests run on in-memory trees and the
 * server can cache. All paths are absolute.
 */
export interface FileSystemHost {
  stat(path: string): { isFile: boolean; isDirectory: boolean } | undefined;
  readDir(path: string): { name: string; isDirectory: boolean }[];
}

export type CompletionKind = 'property' | 'value' | 'enum' | 'snippet' | 'file' | 'folder' | 'keyword';

export interface TextEdit {
  span: Span;
  newText: string;
}

export interface CompletionItem {
  label: string;
  kind: CompletionKind;
  /** Text inserted (snippet syntax when `isSnippet`). */
  insertText: string;
  isSnippet?: boolean;
  /** The span the insertion replaces (the half-typed word), so the client filters against it. */
  replace: Span;
  detail?: string;
  /** Markdown. */
  documentation?: string;
  sortText?: string;
  filterText?: string;
  /** Extra edits, e.g. adding a missing `id:` line elsewhere. */
  additionalEdits?: TextEdit[];
  /** Re-trigger completion after insertion (e.g. after `key: `). */
  retrigger?: boolean;
}

export interface Hover {
  span: Span;
  /** Markdown. */
  markdown: string;
}

export type SymbolKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'key' | 'check' | 'file' | 'event';

export interface DocumentSymbol {
  name: string;
  detail?: string;
  kind: SymbolKind;
  /** The whole entry (key and value). */
  span: Span;
  /** The part to select/reveal: the key. */
  selectionSpan: Span;
  children: DocumentSymbol[];
}

export interface FoldingRange {
  /** Zero-based lines, inclusive. */
  startLine: number;
  endLine: number;
  kind?: 'comment' | 'region';
}

export interface CodeAction {
  title: string;
  kind: 'quickfix' | 'refactor' | 'source';
  /** The diagnostics this action fixes (by index into the list the caller passed). */
  diagnostics: Diagnostic[];
  edits: TextEdit[];
  isPreferred?: boolean;
}

/** Command ids the client implements; CodeLens anchors name them. */
export const COMMANDS = {
  runTask: 'clawgym.runTask',
  validateTask: 'clawgym.validateTask',
  runCheck: 'clawgym.runCheck',
} as const;

export interface CodeLens {
  span: Span;
  title: string;
  command: (typeof COMMANDS)[keyof typeof COMMANDS];
  /** JSON-serialisable arguments: the document URI first, then e.g. a check id. */
  args: unknown[];
}

/** Cooperative cancellation: features check it between passes. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

export const NEVER_CANCELLED: Cancellation = { isCancellationRequested: false };
