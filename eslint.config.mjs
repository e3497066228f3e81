// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const editorApis = ['vscode', 'vscode-languageserver', 'vscode-languageserver/*', 'vscode-languageclient', 'vscode-languageclient/*', 'vscode-languageserver-protocol', 'vscode-jsonrpc', 'vscode-jsonrpc/*'];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.e2e/**', '.runs/**', '**/*.d.ts', 'test-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // The engine is editor-independent: the layering the style guide asks for, enforced.
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: editorApis.filter((p) => !p.includes('*')).map((name) => ({ name, message: 'core/ must not depend on an editor or LSP API; convert in server/ or client/.' })), patterns: [{ group: editorApis, message: 'core/ must not depend on an editor or LSP API.' }, { group: ['**/server/**', '**/client/**', '**/cli/**'], message: 'core/ must not import its adapters.' }] }],
    },
  },
  {
    // Only the client talks to VS Code.
    files: ['server/**/*.ts', 'cli/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only client/ may import vscode.' }], patterns: [{ group: ['**/client/**'], message: 'Only the extension host loads client/.' }] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
  },
);
