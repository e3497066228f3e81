/** Files derived from the model and committed; `npm run gen` writes them, a test checks them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskJsonSchema } from './schema';
import { grammarFileContent } from './grammar';
import { snippetsFileContent } from './snippets';
import { packageJsonWithConfiguration } from '../settings';

export interface Artefact {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

/** The repository root, from the compiled module (out/core/src/model/). */
const repoRoot = join(__dirname, '..', '..', '..', '..');

export function derivedArtefacts(): Artefact[] {
  return [
    { path: 'schemas/clawtask.schema.json', content: JSON.stringify(taskJsonSchema(), null, 2) + '\n' },
    { path: 'syntaxes/clawtask.tmLanguage.json', content: grammarFileContent() },
    { path: 'snippets/clawtask.json', content: snippetsFileContent() },
    // package.json is shared: only `contributes.configuration` is derived (from core/src/settings.ts);
    // every other field is read back from the committed file unchanged.
    { path: 'package.json', content: packageJsonWithConfiguration(readFileSync(join(repoRoot, 'package.json'), 'utf8')) },
  ];
}
