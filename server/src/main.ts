/**
 * The language server process. The transport comes from the command line, as VS Code's
 * LanguageClient passes it: `--stdio`, `--node-ipc`, `--socket=PORT` or `--pipe=NAME`.
 * The esbuild bundle `dist/server.js` is built from this file.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { snapshotProcessEnv } from './processEnv';
import { startServer } from './server';

snapshotProcessEnv();
const connection = createConnection(ProposedFeatures.all);
startServer(connection);
