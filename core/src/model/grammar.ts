/**
 * The TextMate grammar for `.clawtask` files (`syntaxes/clawtask.tmLanguage.json`, a derived artefact).
 *
 * Self-contained YAML (it does not include `source.yaml`, which may not be installed) plus scopes
 * that know what a task is. The names it highlights come from the zod model: top-level keys from
 * `Task`, check kinds from `CHECK_KIND_NAMES`, and the keys whose block scalars hold code (`python`
 * and `command` checks, `workspace.setup`, `solution.script`) are asserted to exist in the model, so
 * a renamed key breaks generation instead of silently losing its highlighting.
 *
 * Task-aware scopes:
 * - `entity.name.tag.clawtask.key.task`: a top-level task key (`version`, `intent`, `verifier`, …)
 * - `support.function.check-kind.clawtask`: a check kind key under `verifier:`
 * - `entity.name.function.id.clawtask`: the value of an `id:` (task, check or rubric item)
 * - `meta.embedded.block.python` / `meta.embedded.block.shell` / `meta.embedded.line.shell`
 * Everything else is YAML, scoped like VS Code's YAML grammar (`entity.name.tag.yaml`, `string.*.yaml`, …).
 *
 * TextMate matches line by line. Block scalars are `begin`/`while` rules: a line stays inside while it
 * is blank or indented deeper than the parent, and the check runs before any nested rule, so an
 * unterminated string in embedded Python cannot swallow the rest of the file.
 */
import { CHECK_KIND_NAMES, Solution, Task, Workspace } from './schema';

type Captures = Record<string, { name: string }>;
interface Rule {
  name?: string;
  contentName?: string;
  match?: string;
  begin?: string;
  end?: string;
  while?: string;
  captures?: Captures;
  beginCaptures?: Captures;
  endCaptures?: Captures;
  whileCaptures?: Captures;
  patterns?: Rule[];
  include?: string;
}

// ---------------------------------------------------------------------------------------------
// Regex building blocks (Oniguruma syntax)

/** A capturing group with a scope ('' = captured for a back-reference only). */
interface Group {
  re: string;
  scope: string;
}
type Part = string | Group;
const g = (re: string, scope = ''): Group => ({ re, scope });

/** Joins parts into one regex, numbering the capture groups; plain string parts must not capture. */
function compose(parts: Part[]): { re: string; captures: Captures } {
  let re = '';
  const captures: Captures = {};
  let n = 0;
  for (const p of parts) {
    if (typeof p === 'string') {
      re += p;
    } else {
      n++;
      re += `(${p.re})`;
      if (p.scope) captures[String(n)] = { name: p.scope };
    }
  }
  return { re, captures };
}

const alternation = (names: readonly string[]): string =>
  [...names].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|');

// Scopes
const S = {
  key: 'entity.name.tag.yaml',
  taskKey: 'entity.name.tag.clawtask.key.task',
  checkKind: 'support.function.check-kind.clawtask',
  id: 'entity.name.function.id.clawtask',
  colon: 'punctuation.separator.key-value.mapping.yaml',
  dash: 'punctuation.definition.block.sequence.item.yaml',
  comment: 'comment.line.number-sign.yaml',
  commentPunct: 'punctuation.definition.comment.yaml',
  literal: 'keyword.control.flow.block-scalar.literal.yaml',
  indentIndicator: 'constant.numeric.indentation-indicator.yaml',
  chomping: 'storage.modifier.chomping-indicator.yaml',
  blockString: 'string.unquoted.block.yaml',
  anchor: 'entity.name.type.anchor.yaml',
  anchorPunct: 'punctuation.definition.anchor.yaml',
  alias: 'variable.other.alias.yaml',
  aliasPunct: 'punctuation.definition.alias.yaml',
  tag: 'storage.type.tag-handle.yaml',
} as const;

/** A block mapping key is preceded by the line start, whitespace (after `- ` or `? `) or nothing. */
const BLOCK_KEY_START = String.raw`(?<=^|[ \t])`;
/** A key in either context: also after `{`, `[` or `,` of a flow collection. */
const ANY_KEY_START = String.raw`(?<=^|[\s{\[,])`;
const PLAIN_BLOCK_KEY = String.raw`(?:[^\s\[\]{},#&*!|>'"%@?:-]|[?:-](?=\S))(?:[^:#\r\n]|:(?=\S)|(?<=\S)#)*?`;
const PLAIN_FLOW_KEY = String.raw`(?:[^\s\[\]{},#&*!|>'"%@?:-]|[?:-](?=[^\s,\[\]{}]))(?:[^:,\[\]{}#\r\n]|:(?=[^\s,\[\]{}])|(?<=\S)#)*?`;
const DQ_KEY = String.raw`"(?:[^"\\]|\\.)*"`;
const SQ_KEY = String.raw`'(?:[^']|'')*'`;
/** After a key: `:` followed by whitespace, a flow indicator or the end of the line. */
const COLON = String.raw`[ \t]*`;
const COLON_END_BLOCK = String.raw`(?=[ \t]|$)`;
const COLON_END_ANY = String.raw`(?=[\s,\]}]|$)`;
/** Where a block scalar value ends, and a flow one. */
const END_BLOCK = String.raw`(?=[ \t]+#|[ \t]*$)`;
const END_FLOW = String.raw`(?=[ \t]*(?:[,\]}]|:(?:[\s,\]}]|$))|[ \t]+#|[ \t]*$)`;
const TASK_ID = String.raw`[A-Za-z0-9][A-Za-z0-9._-]*`;
const BLOCK_HEADER: Part[] = [
  g('[|>]', S.literal),
  '(?:',
  g('[1-9]', S.indentIndicator),
  g('[-+]?', S.chomping),
  '|',
  g('[-+]', S.chomping),
  g('[1-9]?', S.indentIndicator),
  ')?',
  String.raw`(?:[ \t]+`,
  g('#.*', S.comment),
  String.raw`)?[ \t]*$`,
];
/** Optional anchor and tag between `key:` and a block scalar indicator. */
const NODE_PROPS: Part[] = [
  String.raw`(?:`,
  g('&', `${S.anchor} ${S.anchorPunct}`),
  g(String.raw`[^\s\[\]{},]+`, S.anchor),
  String.raw`[ \t]+)?(?:`,
  g(String.raw`![^\s]*`, S.tag),
  String.raw`[ \t]+)?`,
];

interface Embed {
  contentName: string;
  include?: string;
}
const PYTHON: Embed = { contentName: 'meta.embedded.block.python', include: 'source.python' };
const SHELL_BLOCK: Embed = { contentName: 'meta.embedded.block.shell', include: 'source.shell' };
const SHELL_LINE: Embed = { contentName: 'meta.embedded.line.shell', include: 'source.shell' };
const BLOCK_STRING: Embed = { contentName: S.blockString };

const embedPatterns = (e: Embed): Rule[] | undefined => (e.include ? [{ include: e.include }] : undefined);

/**
 * `key: |` block scalars. Two rules: `key: |` (content deeper than the key's line) and `- key: |`
 * (content deeper than the key, which sits one column per dash character after the indentation).
 */
function blockScalarRules(key: string, keyScope: string, embed: Embed, opts: { topLevel?: boolean } = {}): Rule[] {
  const keyGroup = g(key, keyScope);
  const tail: Part[] = [COLON, g(':', S.colon), String.raw`[ \t]+`, ...NODE_PROPS, ...BLOCK_HEADER];
  const plain = compose([opts.topLevel ? g('') : g(String.raw`[ \t]*`), keyGroup, ...tail]);
  const rules: Rule[] = [
    {
      begin: '^' + plain.re,
      beginCaptures: plain.captures,
      // Deeper than the key's indentation (\1), or blank.
      while: String.raw`^(?=\1[ \t]|[ \t]*$)`,
      contentName: embed.contentName,
      patterns: embedPatterns(embed),
    },
  ];
  if (!opts.topLevel) {
    const dashed = compose([g(String.raw`[ \t]*`), g('-', S.dash), g(String.raw`[ \t]+`), keyGroup, ...tail]);
    rules.push({
      begin: '^' + dashed.re,
      beginCaptures: dashed.captures,
      // Deeper than the key: the indentation, one column for the dash, the spaces after it.
      while: String.raw`^(?=\1[ \t]\3[ \t]|[ \t]*$)`,
      contentName: embed.contentName,
      patterns: embedPatterns(embed),
    });
  }
  return rules;
}

/** `- |` as a sequence item: content deeper than the dash. */
function dashBlockScalarRule(embed: Embed): Rule {
  const c = compose([g(String.raw`[ \t]*`), g('-', S.dash), String.raw`[ \t]+`, ...NODE_PROPS, ...BLOCK_HEADER]);
  return {
    begin: '^' + c.re,
    beginCaptures: c.captures,
    while: String.raw`^(?=\1[ \t]|[ \t]*$)`,
    contentName: embed.contentName,
    patterns: embedPatterns(embed),
  };
}

/** `key: plain text` on one line, embedded (e.g. `command: pytest -q`). Ends with the line. */
function lineEmbedRule(key: string, keyScope: string, embed: Embed): Rule {
  const c = compose([
    g(String.raw`[ \t]*`),
    String.raw`(?:`,
    g('-', S.dash),
    String.raw`[ \t]+)?`,
    g(key, keyScope),
    COLON,
    g(':', S.colon),
    String.raw`[ \t]+(?=[^\s|>'"#&*!\[{])`,
  ]);
  // A `while` that never matches pops the rule (and anything the embedded grammar left open) at
  // the start of the next line.
  return { begin: '^' + c.re, beginCaptures: c.captures, while: '(?!)', contentName: embed.contentName, patterns: embedPatterns(embed) };
}

/** A plain `- item` of a sequence, embedded on its line (e.g. `setup:` items). */
function lineItemEmbedRule(embed: Embed): Rule {
  const c = compose([g(String.raw`[ \t]*`), g('-', S.dash), String.raw`[ \t]+(?=[^\s|>'"#&*!\[{-])`]);
  return { begin: '^' + c.re, beginCaptures: c.captures, while: '(?!)', contentName: embed.contentName, patterns: embedPatterns(embed) };
}

function keyRule(start: string, key: string, keyScope: string, colonEnd: string): Rule {
  const c = compose([start, g(key, keyScope), COLON, g(':', S.colon), colonEnd]);
  return { match: c.re, captures: c.captures };
}

/** `id: some-id`: the id value gets its own scope. */
function idRule(start: string, keyScope: string, key = 'id'): Rule {
  const c = compose([start, g(key, keyScope), COLON, g(':', S.colon), String.raw`[ \t]+`, g(TASK_ID, S.id), String.raw`(?=[ \t]+#|[ \t]*$|[ \t]*[,\]}])`]);
  return { match: c.re, captures: c.captures };
}

// ---------------------------------------------------------------------------------------------
// Generic YAML, parametrised by a context so sections can add their own key rules

function scalars(end: string, flow: boolean): Rule[] {
  const plainFirst = flow ? String.raw`(?:[^\s\-?:,\[\]{}#&*!|>'"%@]|[-?:](?=[^\s,\[\]{}]))` : String.raw`(?:[^\s\-?:,\[\]{}#&*!|>'"%@]|[-?:](?=\S))`;
  const plainRest = flow ? String.raw`(?:[^\r\n#,\[\]{}:]|:(?=[^\s,\[\]{}])|(?<=\S)#)*?` : String.raw`(?:[^\r\n#]|(?<=\S)#)*?`;
  return [
    { match: String.raw`(?:null|Null|NULL|~)${end}`, name: 'constant.language.null.yaml' },
    { match: String.raw`(?:true|True|TRUE|false|False|FALSE)${end}`, name: 'constant.language.boolean.yaml' },
    { match: String.raw`(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)${end}`, name: 'constant.numeric.integer.yaml' },
    { match: String.raw`(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))${end}`, name: 'constant.numeric.float.yaml' },
    { match: plainFirst + plainRest + end, name: flow ? 'string.unquoted.plain.in.yaml' : 'string.unquoted.plain.out.yaml' },
  ];
}

const QUOTED: Rule[] = [
  {
    name: 'string.quoted.double.yaml',
    begin: '"',
    beginCaptures: { '0': { name: 'punctuation.definition.string.begin.yaml' } },
    // A line in column 0 ends it, as the yaml parser does (continuations must be indented): a
    // half-typed quote then spoils one section, not the rest of the file.
    end: String.raw`(")|^(?=\S)`,
    endCaptures: { '1': { name: 'punctuation.definition.string.end.yaml' } },
    patterns: [
      { match: String.raw`\\(?:[0abtnvfre "/\\N_LP\t]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})`, name: 'constant.character.escape.yaml' },
      { match: String.raw`\\[^\r\n]`, name: 'invalid.illegal.constant.character.escape.yaml' },
    ],
  },
  {
    name: 'string.quoted.single.yaml',
    begin: "'",
    beginCaptures: { '0': { name: 'punctuation.definition.string.begin.yaml' } },
    end: String.raw`(')(?!')|^(?=\S)`,
    endCaptures: { '1': { name: 'punctuation.definition.string.end.yaml' } },
    patterns: [{ match: "''", name: 'constant.character.escape.single-quoted.yaml' }],
  },
];

const COMMENT: Rule = {
  match: String.raw`(?:^|(?<=[ \t]))(#).*$`,
  name: S.comment,
  captures: { '1': { name: S.commentPunct } },
};

const PROPERTIES: Rule[] = [
  { match: String.raw`(?<=^|[\s\[{,])(&)([^\s\[\]{},]+)`, captures: { '1': { name: `${S.anchor} ${S.anchorPunct}` }, '2': { name: S.anchor } } },
  { match: String.raw`(?<=^|[\s\[{,])(\*)([^\s\[\]{},]+)`, captures: { '1': { name: `${S.alias} ${S.aliasPunct}` }, '2': { name: S.alias } } },
  { match: String.raw`(?<=^|[\s\[{,])!(?:<[^>\s]*>|[^\s\[\]{},]*)`, name: S.tag },
];

/** The repository entries of one context: `<ctx>-block`, `<ctx>-flow-mapping`, `<ctx>-flow-sequence`. */
function yamlContext(ctx: string, extra: { block?: Rule[]; keys?: Rule[] } = {}): Record<string, Rule> {
  const flowContent: Rule[] = [
    { include: '#comment' },
    { include: '#properties' },
    ...(extra.keys ?? []),
    keyRule(ANY_KEY_START, PLAIN_FLOW_KEY, S.key, COLON_END_ANY),
    keyRule(ANY_KEY_START, DQ_KEY, `${S.key} string.quoted.double.yaml`, COLON_END_ANY),
    keyRule(ANY_KEY_START, SQ_KEY, `${S.key} string.quoted.single.yaml`, COLON_END_ANY),
    { match: ',', name: 'punctuation.separator.flow.yaml' },
    { match: String.raw`\?(?=[\s,\]}]|$)`, name: 'punctuation.definition.key-value.begin.yaml' },
    { match: String.raw`:(?=[\s,\]}]|$)`, name: S.colon },
    { include: `#${ctx}-flow-mapping` },
    { include: `#${ctx}-flow-sequence` },
    { include: '#quoted' },
    { include: '#flow-scalars' },
  ];
  return {
    [`${ctx}-block`]: {
      patterns: [
        { include: '#comment' },
        ...(extra.block ?? []),
        { include: '#block-scalars' },
        ...(extra.keys ?? []),
        { include: '#block-key' },
        { match: String.raw`(?<=^|[ \t])-(?=[ \t]|$)`, name: S.dash },
        { match: String.raw`(?<=^|[ \t])\?(?=[ \t]|$)`, name: 'punctuation.definition.key-value.begin.yaml' },
        { match: String.raw`(?<=^|[ \t]):(?=[ \t]|$)`, name: S.colon },
        { include: '#properties' },
        { include: `#${ctx}-flow-mapping` },
        { include: `#${ctx}-flow-sequence` },
        { include: '#quoted' },
        { include: '#block-scalars-values' },
      ],
    },
    [`${ctx}-flow-mapping`]: {
      name: 'meta.flow-mapping.yaml',
      begin: String.raw`\{`,
      beginCaptures: { '0': { name: 'punctuation.definition.mapping.begin.yaml' } },
      // Column 0 ends an unclosed collection, as in the yaml parser (only `}` may sit there).
      end: String.raw`(\})|^(?=[^\s}])`,
      endCaptures: { '1': { name: 'punctuation.definition.mapping.end.yaml' } },
      patterns: flowContent,
    },
    [`${ctx}-flow-sequence`]: {
      name: 'meta.flow-sequence.yaml',
      begin: String.raw`\[`,
      beginCaptures: { '0': { name: 'punctuation.definition.sequence.begin.yaml' } },
      end: String.raw`(\])|^(?=[^\s\]])`,
      endCaptures: { '1': { name: 'punctuation.definition.sequence.end.yaml' } },
      patterns: flowContent,
    },
  };
}

/** A section under a top-level key (`verifier:`): it lasts until the next line starting in column 0. */
function section(key: string, ctx: string, patterns: Rule[]): Rule {
  const c = compose([g(key, S.taskKey), COLON, g(':', S.colon), COLON_END_BLOCK]);
  return { begin: '^' + c.re, beginCaptures: c.captures, end: String.raw`^(?=[^\s#])`, patterns: [...patterns, { include: `#${ctx}-block` }] };
}

function requireKey(keys: readonly string[], key: string, where: string): string {
  if (!keys.includes(key)) throw new Error(`grammar: the model has no \`${key}\` in ${where}; update core/src/model/grammar.ts`);
  return key;
}

/** The grammar as a JSON-serialisable object. */
export function clawtaskGrammar(): Record<string, unknown> {
  const taskKeys = Object.keys(Task.shape);
  const verifier = requireKey(taskKeys, 'verifier', 'Task');
  const workspace = requireKey(taskKeys, 'workspace', 'Task');
  const solution = requireKey(taskKeys, 'solution', 'Task');
  const idKey = requireKey(taskKeys, 'id', 'Task');
  const python = requireKey(CHECK_KIND_NAMES, 'python', 'CHECK_KIND_NAMES');
  const command = requireKey(CHECK_KIND_NAMES, 'command', 'CHECK_KIND_NAMES');
  const setup = requireKey(Object.keys(Workspace.shape), 'setup', 'Workspace');
  const script = requireKey(Object.keys(Solution.shape), 'script', 'Solution');
  const kinds = alternation(CHECK_KIND_NAMES);
  const anyBlockKey = `${PLAIN_BLOCK_KEY}|${DQ_KEY}|${SQ_KEY}`;

  const setupSeq = compose([g(String.raw`[ \t]*`), g(setup, S.key), COLON, g(':', S.colon), String.raw`(?=[ \t]*(?:#.*)?$)`]);

  return {
    $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    name: 'ClawTask',
    scopeName: 'source.clawtask',
    fileTypes: ['clawtask'],
    comment: 'Generated from core/src/model/grammar.ts by `npm run gen`; do not edit by hand.',
    patterns: [
      { include: '#comment' },
      { match: String.raw`^%.*$`, name: 'meta.directive.yaml' },
      { match: String.raw`^---(?=[ \t]|$)`, name: 'entity.other.document.begin.yaml' },
      { match: String.raw`^\.\.\.(?=[ \t]|$)`, name: 'entity.other.document.end.yaml' },
      section(verifier, 'verifier', [
        ...blockScalarRules(python, S.checkKind, PYTHON),
        ...blockScalarRules(command, S.checkKind, SHELL_BLOCK),
        lineEmbedRule(command, S.checkKind, SHELL_LINE),
      ]),
      section(workspace, 'yaml', [
        ...blockScalarRules(setup, S.key, SHELL_BLOCK),
        lineEmbedRule(setup, S.key, SHELL_LINE),
        {
          // `setup:` followed by a block sequence: each item is a shell command.
          begin: '^' + setupSeq.re,
          beginCaptures: setupSeq.captures,
          while: String.raw`^(?=\1[ \t]|\1-(?:[ \t]|$)|[ \t]*(?:#|$))`,
          patterns: [{ include: '#comment' }, dashBlockScalarRule(SHELL_BLOCK), lineItemEmbedRule(SHELL_LINE), { include: '#yaml-block' }],
        },
      ]),
      section(solution, 'yaml', [...blockScalarRules(script, S.key, SHELL_BLOCK), lineEmbedRule(script, S.key, SHELL_LINE)]),
      ...blockScalarRules(alternation(taskKeys), S.taskKey, BLOCK_STRING, { topLevel: true }),
      idRule('^', S.taskKey, idKey),
      keyRule('^', alternation(taskKeys), S.taskKey, COLON_END_BLOCK),
      { include: '#yaml-block' },
    ],
    repository: {
      comment: COMMENT,
      properties: { patterns: PROPERTIES },
      quoted: { patterns: QUOTED },
      'block-scalars-values': { patterns: scalars(END_BLOCK, false) },
      'flow-scalars': { patterns: scalars(END_FLOW, true) },
      'block-scalars': { patterns: [...blockScalarRules(anyBlockKey, S.key, BLOCK_STRING), dashBlockScalarRule(BLOCK_STRING)] },
      'block-key': {
        patterns: [
          keyRule(BLOCK_KEY_START, PLAIN_BLOCK_KEY, S.key, COLON_END_BLOCK),
          keyRule(BLOCK_KEY_START, DQ_KEY, `${S.key} string.quoted.double.yaml`, COLON_END_ANY),
          keyRule(BLOCK_KEY_START, SQ_KEY, `${S.key} string.quoted.single.yaml`, COLON_END_ANY),
        ],
      },
      ...yamlContext('yaml'),
      // Under `verifier:`: check kinds and ids, in block and flow style.
      ...yamlContext('verifier', {
        keys: [idRule(ANY_KEY_START, S.key, idKey), keyRule(ANY_KEY_START, kinds, S.checkKind, COLON_END_ANY)],
      }),
    },
  };
}

export function grammarFileContent(): string {
  return JSON.stringify(clawtaskGrammar(), null, 2) + '\n';
}
