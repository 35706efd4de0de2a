// Control characters from upstreams in log records: the pretty-printer (a terminal) shows them escaped,
// JSON lines carry DEL and C1 as \u00XX escapes; tab, newline and our own colours stay as they are.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { printable, printableDeep, printableJson, printableLine } from '@trivy-mirror/plugin-api';
import { createLogger } from '../src/index.js';
import { printableJsonLine } from '../src/logging/printable-log-line.js';

const HOSTILE = 'a\u001b]0;title\u0007b\u001b[2J\rc\bd\u007fe\u009bf';
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('printable text', () => {
  test('escapes C0 (but tab and newline), DEL and C1; one-line fields escape newlines too', () => {
    assert.equal(printable(HOSTILE), 'a\\x1b]0;title\\x07b\\x1b[2J\\x0dc\\x08d\\x7fe\\x9bf');
    assert.equal(printable('line 1\n\tline 2'), 'line 1\n\tline 2');
    assert.equal(printableLine('x\ny\tz'), 'x\\x0ay\tz');
    assert.deepEqual(printableDeep({ 'k\u001b': ['v\u0007', 1, null], n: { m: '\r' } }), {
      'k\\x1b': ['v\\x07', 1, null],
      n: { m: '\\x0d' },
    });
    const json = printableJson(JSON.stringify({ m: HOSTILE }));
    assert.doesNotMatch(json, CONTROL);
    assert.equal(JSON.parse(json).m, HOSTILE, 'the same value');
    const line = `${JSON.stringify({ msg: 'plain', n: 1 })}\n`;
    assert.equal(printableJsonLine(line), line, 'lines without control characters pass as they are');
  });

  test('pretty logs show an error body with ESC, \\r and a bell escaped', async () => {
    const out = capture();
    const logger = createLogger({ format: 'pretty', destination: out.stream, isTty: true });
    logger.error({ err: new Error(`registry said ${HOSTILE}`), host: HOSTILE }, `job failed ${HOSTILE}`);
    await new Promise((r) => setTimeout(r, 50));
    // strip our own colours (ESC [ … m) and look for anything else
    const text = out.text().replace(/\u001b\[[0-9;]*m/g, '');
    assert.doesNotMatch(text, CONTROL, JSON.stringify(text));
    assert.ok(text.includes('job failed a\\x1b]0;title\\x07b\\x1b[2J\\x0dc'), text);
    assert.ok(text.includes('registry said a\\x1b]0;title'), text);
    assert.match(text, /\n +at /, 'the stack keeps its lines');
  });

  test('JSON logs carry DEL and C1 escaped too, and parse back to the same text', () => {
    const out = capture();
    const logger = createLogger({ format: 'json', destination: out.stream });
    logger.warn({ detail: HOSTILE }, 'upstream answered');
    const text = out.text();
    assert.doesNotMatch(text, CONTROL);
    assert.equal(JSON.parse(text).detail, HOSTILE);
  });
});
