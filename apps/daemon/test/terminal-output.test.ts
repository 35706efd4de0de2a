// What the CLI prints from upstream text: error messages (with their causes), table cells and the
// progress bar's label show control characters escaped; table cells stay on one line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import { formatCliError } from '../src/output/cli-output.js';
import { ProgressLine } from '../src/output/progress-line.js';
import { formatTable } from '../src/output/text-table.js';

const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\rx\u009b';
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('CLI output of upstream text', () => {
  test('errors, causes and codes are escaped; config issues keep their lines', () => {
    const err = new MirrorError('SYNC_FAILED', 'sync failed', {
      cause: Object.assign(new Error(`registry answered 403 (${HOSTILE})`), {
        code: `DENIED${HOSTILE}`,
        status: 403,
      }),
    });
    const text = formatCliError(err);
    assert.doesNotMatch(text, CONTROL, JSON.stringify(text));
    assert.ok(text.includes('\\x1b]0;pwned\\x07\\x1b[2J\\x0dx\\x9b'), text);
    assert.equal(formatCliError(new Error('a\n\tb')), 'a\n\tb');
  });

  test('table cells: escaped and one line each', () => {
    const table = formatTable(['NAME', 'ERROR'], [['trivy-db:2', `line 1\nforged line ${HOSTILE}`]]);
    assert.doesNotMatch(table, CONTROL);
    assert.equal(table.trimEnd().split('\n').length, 2, table);
    assert.match(table, /line 1\\x0aforged line \\x1b\]0;pwned/);
  });

  test('the progress label is escaped; the bar still draws itself with \\r and ESC [2K', () => {
    let out = '';
    const write = (s: string) => {
      out += s;
      return true;
    };
    const stream = { isTTY: true, write } as unknown as NodeJS.WriteStream;
    new ProgressLine(stream).update(`vex ${HOSTILE}`, 10, 10);
    assert.ok(out.startsWith('\r\u001b[2Kvex \\x1b]0;pwned\\x07'), JSON.stringify(out));
    assert.doesNotMatch(out.slice('\r\u001b[2K'.length), CONTROL);
  });
});
