// The demo project opens in one click on a fresh machine (data fetched by scripts/setup),
// with labelled and unlabelled texts, and the table view scrolls through it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHOTS, startApp, stopApp } from './harness.mjs';

let ctx;

before(async () => {
  const cache = process.env.STUDIO_CACHE ?? path.join(os.homedir(), '.cache/studio');
  assert.ok(fs.existsSync(path.join(cache, 'data/movies/train.csv')), `no movie data under ${cache}`);
  ctx = await startApp({ STUDIO_CACHE: cache });
});

after(async () => {
  await stopApp(ctx);
});

test('the demo project opens with 200 of 2000 texts labelled', { timeout: 120_000 }, async () => {
  const { browser } = ctx;
  const demo = await browser.$('#open-demo');
  await demo.waitForEnabled({ timeout: 15000 });
  await demo.click();
  const progress = await browser.$('#label-progress');
  await progress.waitForExist({ timeout: 60000 });
  assert.equal(await progress.getAttribute('data-labelled'), '200');
  assert.match(await progress.getText(), /200 of 2000 labelled/);
  await (await browser.$('#view-table')).click();
  const viewport = await browser.$('.viewport');
  await viewport.waitForExist();
  await browser.execute(() => {
    const v = document.querySelector('.viewport');
    if (v) v.scrollTop = 1500 * 36;
  });
  const firstId = async () => Number(await (await browser.$('.viewport .row .id')).getText());
  await browser.waitUntil(async () => (await firstId()) > 1400, {
    timeout: 10000,
    timeoutMsg: 'the table did not scroll to row ~1500',
  });
  await new Promise((r) => setTimeout(r, 500));
  await browser.saveScreenshot(path.join(SHOTS, '11-demo-table.png'));
});
