/**
 * The settings model (core/src/settings.ts) and the manifest agree, and settings resolve with
 * defaults. The drift test in core/test/schema.test.ts also covers package.json through the
 * artefact list; this one names the exact setting that differs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationContribution, defaultSettings, resolveSettings, SETTING_KEYS } from '../../core/src/settings';
import { DEFAULT_IMAGE } from '../../core/src/model/schema';
import { repoRoot } from './util';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, unknown> } };
};

test('package.json contributes.configuration matches core/src/settings.ts (run `npm run gen`)', () => {
  const derived = configurationContribution();
  const manifest = pkg.contributes.configuration;
  assert.deepEqual(Object.keys(manifest.properties), Object.keys(derived.properties), 'setting names differ');
  for (const key of SETTING_KEYS) assert.deepEqual(manifest.properties[key], derived.properties[key], `${key} differs`);
  assert.deepEqual(manifest, derived);
});

test('the settings the issue asks for, each with a default and a description', () => {
  const props = configurationContribution().properties;
  assert.deepEqual(Object.keys(props).sort(), [
    'clawgym.agent.baseUrl',
    'clawgym.agent.maxSteps',
    'clawgym.agent.maxTokens',
    'clawgym.agent.model',
    'clawgym.agent.temperature',
    'clawgym.diagnostics.enable',
    'clawgym.diagnostics.untouchedChecks',
    'clawgym.run.backend',
    'clawgym.run.runsDirectory',
    'clawgym.sandbox.image',
    'clawgym.server.path',
    'clawgym.trace.server',
  ]);
  assert.deepEqual(props['clawgym.trace.server']!.enum, ['off', 'messages', 'verbose']);
  assert.equal(props['clawgym.sandbox.image']!.default, DEFAULT_IMAGE);
  for (const [k, p] of Object.entries(props)) assert.ok(p.description.length > 20, `${k} needs a description`);
});

test('resolveSettings reads nested, dotted and full keys, and falls back on bad values', () => {
  assert.deepEqual(defaultSettings(), {
    'clawgym.server.path': '',
    'clawgym.trace.server': 'off',
    'clawgym.diagnostics.enable': true,
    'clawgym.diagnostics.untouchedChecks': true,
    'clawgym.sandbox.image': 'clawgym/sandbox:latest',
    'clawgym.run.backend': 'auto',
    'clawgym.run.runsDirectory': 'runs',
    'clawgym.agent.model': '',
    'clawgym.agent.baseUrl': '',
    'clawgym.agent.temperature': -1,
    'clawgym.agent.maxTokens': 0,
    'clawgym.agent.maxSteps': 50,
  });
  const nested = resolveSettings({ diagnostics: { enable: false }, trace: { server: 'verbose' } });
  assert.equal(nested['clawgym.diagnostics.enable'], false);
  assert.equal(nested['clawgym.trace.server'], 'verbose');
  assert.equal(resolveSettings({ 'diagnostics.untouchedChecks': false })['clawgym.diagnostics.untouchedChecks'], false);
  assert.equal(resolveSettings({ 'clawgym.sandbox.image': 'img:1' })['clawgym.sandbox.image'], 'img:1');
  assert.equal(resolveSettings({ clawgym: { sandbox: { image: 'img:2' } } })['clawgym.sandbox.image'], 'img:2');
  const bad = resolveSettings({ trace: { server: 'loud' }, diagnostics: { enable: 'yes' }, sandbox: { image: '' } });
  assert.equal(bad['clawgym.trace.server'], 'off');
  assert.equal(bad['clawgym.diagnostics.enable'], true);
  assert.equal(bad['clawgym.sandbox.image'], DEFAULT_IMAGE);
  assert.deepEqual(resolveSettings('nonsense'), defaultSettings());
});
