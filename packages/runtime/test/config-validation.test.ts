// The config's own checks: "did you mean" for unknown keys, cron fields validated as the scheduler
// does, and the `enabled` switch added to plugin sections without loosening them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cronExpression, definePlugin } from '@trivy-mirror/plugin-api';
import cron from 'node-cron';
import { z } from 'zod';
import { cronExpressionProblem, parseConfig, withEnabledSwitch } from '../src/index.js';
import { suggestKey } from '../src/config/key-suggestion.js';
import { knownKeysAt } from '../src/config/schema-keys.js';

describe('did you mean', () => {
  test('the closest known key, when close enough', () => {
    const known = ['keepVersions', 'schedule', 'sources', 'artifacts', 'destinations'];
    assert.equal(suggestKey('keepVersion', known), 'keepVersions');
    assert.equal(suggestKey('KeepVersions', known), 'keepVersions');
    assert.equal(suggestKey('keep_versions', known), 'keepVersions');
    assert.equal(suggestKey('shedule', known), 'schedule');
    assert.equal(suggestKey('colour', known), undefined);
    assert.equal(suggestKey('x', []), undefined);
  });

  test('keys through defaults, arrays and unions', () => {
    const schema = z.strictObject({
      list: z.array(z.strictObject({ name: z.string(), tags: z.array(z.string()) })).default([]),
      either: z.union([z.strictObject({ a: z.string() }), z.strictObject({ b: z.string() })]).optional(),
    });
    assert.deepEqual(knownKeysAt(schema, []), ['list', 'either']);
    assert.deepEqual(knownKeysAt(schema, ['list', 0]), ['name', 'tags']);
    assert.deepEqual(knownKeysAt(schema, ['either']), ['a', 'b']);
    assert.deepEqual(knownKeysAt(schema, ['nothing']), []);
  });
});

describe('cronExpression()', () => {
  const schema = cronExpression();

  test('refuses exactly what the scheduler refuses', () => {
    const expressions = [
      '17 */6 * * *',
      '0 0 * * 0',
      '*/5 * * * * *',
      '0 9 * * mon-fri',
      '0 0 1 jan *',
      '@daily',
      '99 * * * *',
      '* 24 * * *',
      'every day',
      '* * * * * * *',
      '0 0 31 2 *',
      '',
    ];
    for (const e of expressions) {
      const ours = schema.safeParse(e).success;
      const scheduler = e !== '' && cron.validateDetailed(e).valid;
      assert.equal(ours, scheduler, `"${e}": schema ${ours}, node-cron ${scheduler}`);
    }
    assert.match(
      String(cronExpressionProblem('99 * * * *')),
      /minute: 99 is not a valid value \(0-59, lists, ranges, \*\/N\)/,
    );
  });

  test('the message names the expression and why', () => {
    const r = schema.safeParse('61 3 * * *');
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /invalid cron expression "61 3 \* \* \*": minute: 61/);
  });
});

describe('enabled switch', () => {
  const plugin = definePlugin({
    id: 'demo',
    description: 'test stand-in',
    configSchema: z.strictObject({ dirs: z.array(z.string()).default([]) }).superRefine((c, ctx) => {
      if (new Set(c.dirs).size !== c.dirs.length) ctx.addIssue({ code: 'custom', message: 'duplicate dir' });
    }),
    module: () => {
      throw new Error('not used');
    },
  });

  test('a section takes enabled and stays strict, with its refinements', () => {
    const section = withEnabledSwitch(plugin.configSchema as z.ZodType);
    assert.deepEqual(section.parse({ enabled: false }), { enabled: false, dirs: [] });
    assert.equal(section.safeParse({ enabled: 'no' }).success, false);
    assert.equal(section.safeParse({ bogus: 1 }).success, false);
    assert.equal(section.safeParse({ dirs: ['a', 'a'] }).success, false);
  });

  test('parseConfig keeps enabled in the section and the external entry', () => {
    const config = parseConfig(
      { plugins: { demo: { enabled: false }, external: [{ module: './x.mjs', enabled: false }] } },
      [plugin as never],
    );
    assert.deepEqual(config.plugins.demo, { enabled: false, dirs: [] });
    assert.equal(config.plugins.external[0]?.enabled, false);
  });
});
