/**
 * The Redactor: which secrets a model configuration holds, the forms they are found in, deep
 * values, and streams that catch a secret split across chunks at any point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor, redactUrl, urlSecrets } from '../src/redact';

const KEY = 'sk-test-0123456789abcdef';

test('the key and its encoded forms are redacted; placeholders are not secrets', () => {
  const r = Redactor.for({ apiKey: KEY });
  for (const form of [KEY, Buffer.from(KEY).toString('base64'), Buffer.from(KEY).toString('base64url')]) {
    assert.equal(r.redact(`a ${form} b`), 'a [redacted] b', form);
  }
  assert.equal(Redactor.for({ apiKey: 'EMPTY' }).redact('EMPTY EMPTY'), 'EMPTY EMPTY');
  assert.equal(Redactor.for({ apiKey: 'no-key' }).empty, true);
  const special = Redactor.for({ apiKey: 'p@ss/w"rd+key' });
  assert.equal(special.redact(`url ${encodeURIComponent('p@ss/w"rd+key')} json ${JSON.stringify('p@ss/w"rd+key')}`), 'url [redacted] json "[redacted]"');
});

test('credentials inside a URL: user info, credential query values; the URL printed redacted', () => {
  const url = 'https://clawgym:s3cret-pass%21@example.com/v1?api_key=qk-123456789&api-version=2024-01-01';
  assert.ok(urlSecrets(url).includes('s3cret-pass!'));
  assert.ok(urlSecrets(url).includes('qk-123456789'));
  assert.ok(!urlSecrets(url).includes('2024-01-01'));
  assert.equal(redactUrl(url), 'https://clawgym:[redacted]@example.com/v1?api_key=[redacted]&api-version=2024-01-01');
  assert.equal(redactUrl('http://127.0.0.1:8000/v1'), 'http://127.0.0.1:8000/v1');
  const r = Redactor.for({ baseUrl: url });
  assert.equal(r.redact('pw s3cret-pass! q qk-123456789 basic ' + Buffer.from('clawgym:s3cret-pass!').toString('base64')), 'pw [redacted] q [redacted] basic [redacted]');
  assert.equal(Redactor.for({ headers: { 'x-api-key': 'hk-abcdefgh1234', 'x-tenant': 'tenant-1234567' } }).redact('hk-abcdefgh1234 tenant-1234567'), '[redacted] tenant-1234567');
});

test('deep values (keys too), unchanged values kept as they are, errors', () => {
  const r = Redactor.for({ apiKey: KEY });
  const clean = { a: 1, b: ['x'] };
  assert.equal(r.value(clean), clean);
  assert.deepEqual(r.value({ [KEY]: [{ m: `has ${KEY}` }], n: 2 }), { '[redacted]': [{ m: 'has [redacted]' }], n: 2 });
  const e = r.error(new Error(`401 Incorrect API key provided: ${KEY}`)) as Error;
  assert.equal(e.message, '401 Incorrect API key provided: [redacted]');
  assert.ok(!(e.stack ?? '').includes(KEY));
});

test('streams: a secret split at every position across two chunks, or over many, is replaced whole', () => {
  const r = Redactor.for({ apiKey: KEY });
  const text = `before ${KEY} middle ${KEY} after`;
  for (let cut = 0; cut <= text.length; cut++) {
    const t = r.textStream();
    assert.equal(t.push(text.slice(0, cut)) + t.push(text.slice(cut)) + t.end(), 'before [redacted] middle [redacted] after', `text cut at ${cut}`);
    const b = r.byteStream();
    const bytes = Buffer.from(text);
    assert.equal(Buffer.concat([b.push(bytes.subarray(0, cut)), b.push(bytes.subarray(cut)), b.end()]).toString(), 'before [redacted] middle [redacted] after', `bytes cut at ${cut}`);
  }
  const t = r.textStream();
  let out = '';
  for (const ch of text) out += t.push(ch);
  assert.equal(out + t.end(), 'before [redacted] middle [redacted] after');
  // Nothing is held back when no secret can start there.
  assert.equal(r.textStream().push('plain text.'), 'plain text.');
});
