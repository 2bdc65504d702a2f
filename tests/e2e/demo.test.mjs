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

test('the demo project opens with 200 of 2000 texts labelled, trains in one click and shows its learning curve', { timeout: 600_000 }, async () => {
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

  // One click to a model, then the learning curve of the project's own labels.
  await (await browser.$('#nav-train')).click();
  const start = await browser.$('#start-training');
  await start.waitForEnabled({ timeout: 30000 });
  await (await browser.$('#preset-quick')).click();
  await start.click();
  const curve = await browser.$('#learning-curve');
  const failed = await browser.$('#train-error');
  await browser.waitUntil(async () => (await curve.isExisting()) || (await failed.isExisting()), {
    timeout: 480000,
    interval: 1000,
    timeoutMsg: 'no learning curve after training the demo project',
  });
  assert.ok(!(await failed.isExisting()), 'training the demo project failed');
  assert.match(await (await browser.$('#curve-chart')).getAttribute('src'), /^data:image\/svg\+xml/);
  assert.match(await (await browser.$('#curve-forecast')).getText(), /\S/);
  await (await browser.$('#learning-curve')).scrollIntoView();
  await new Promise((r) => setTimeout(r, 300));
  await browser.saveScreenshot(path.join(SHOTS, '12-demo-learning-curve.png'));
});
