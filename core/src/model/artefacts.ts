/** Files derived from the model and committed; `npm run gen` writes them, a test checks them. */
import { taskJsonSchema } from './schema';

export interface Artefact {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

export function derivedArtefacts(): Artefact[] {
  return [{ path: 'schemas/clawtask.schema.json', content: JSON.stringify(taskJsonSchema(), null, 2) + '\n' }];
}
