/** The editor-independent engine. Imports neither `vscode` nor `vscode-languageserver`. */
export * from './model/schema';
export * from './syntax';
export * from './language';
export * as clawgym from './clawgym';
export { reparseTask, incrementalStats } from './syntax/incremental';
