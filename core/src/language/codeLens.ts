/**
 * CodeLens anchors: "Run" and "Validate" on the task's `id:` line, "Verify" on each check. They
 * only name commands (COMMANDS); the client implements them.
 */
import { isMap, isScalar, isSeq, type Pair, type YamlNode } from '../syntax';
import { COMMANDS, type CodeLens, type Span, type TaskDocument } from './types';

export function codeLenses(doc: TaskDocument): CodeLens[] {
  try {
    const parsed = doc.parsed;
    const root = parsed.doc.contents;
    const lines = parsed.lines;
    /** The first line of whatever starts at `offset`. */
    const lineSpan = (offset: number): Span => ({ start: offset, end: Math.max(offset, lines.lineEnd(lines.positionAt(offset).line)) });

    const idKey = isMap(root) ? (root.items.find((p) => keyIs(p, 'id'))?.key as YamlNode | undefined) : undefined;
    const anchor = idKey?.range ? lineSpan(idKey.range[0]) : lineSpan(0);
    const out: CodeLens[] = [
      { span: anchor, title: '▶ Run task', command: COMMANDS.runTask, args: [doc.uri] },
      { span: anchor, title: '✓ Validate (oracle + no-op)', command: COMMANDS.validateTask, args: [doc.uri] },
    ];

    const verifier = isMap(root) ? root.items.find((p) => keyIs(p, 'verifier'))?.value : undefined;
    const checks = isMap(verifier) ? verifier.items.find((p) => keyIs(p, 'checks'))?.value : undefined;
    if (isSeq(checks)) {
      for (const item of checks.items) {
        if (!isMap(item) || !item.range) continue;
        const idPair = item.items.find((p) => keyIs(p, 'id'));
        const id = idPair && isScalar(idPair.value) ? idPair.value.value : undefined;
        // A check without an id cannot be addressed yet (a quick fix adds one).
        if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') continue;
        out.push({ span: lineSpan(item.range[0]), title: `▶ Verify ${String(id)}`, command: COMMANDS.runCheck, args: [doc.uri, String(id)] });
      }
    }
    return out;
  } catch {
    return [];
  }
}

function keyIs(pair: Pair<unknown, unknown>, name: string): boolean {
  return isScalar(pair.key) && pair.key.value === name;
}
