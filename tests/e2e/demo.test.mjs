// The demo project opens in one click on a fresh machine (data fetched by scripts/setup),
// with labelled and unlabelled texts, and the table view scrolls through it. Trained, its
// small test split brings a cross-validated headline; the fix-errors loop (relabel with a
// button, undo, retrain from the model) shows before and after; the Playground shows the
// words behind a prediction. Screenshots in English and Chinese.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHOTS, startApp, stopApp, untranslated } from './harness.mjs';

let ctx;

before(async () => {
  const cache = process.env.STUDIO_CACHE ?? path.join(os.homedir(), '.cache/studio');
  assert.ok(fs.existsSync(path.join(cache, 'data/movies/train.csv')), `no movie data under ${cache}`);
  ctx = await startApp({ STUDIO_CACHE: cache });
});

after(async () => {
  await stopApp(ctx);
});

test('the demo project opens with 200 of 2000 texts labelled, trains in one click, shows its learning curve, a cross-validated score, the fix-errors loop and the words behind a prediction', { timeout: 900_000 }, async () => {
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

  const shot = async (name) => {
    await new Promise((r) => setTimeout(r, 400));
    await browser.saveScreenshot(path.join(SHOTS, `${name}.png`));
  };

  // Playground: the words behind the prediction, highlighted; "unsure" follows the threshold.
  await (await browser.$('#nav-playground')).click();
  const text = await browser.$('#play-text');
  await text.waitForExist({ timeout: 30000 });
  await text.setValue('A gorgeous, witty film, though the ending drags.');
  const words = await browser.$('#play-words');
  await words.waitForExist({ timeout: 30000 });
  const marks = await browser.$$('#play-words mark, #play-words .against');
  assert.equal(marks.length, 8, 'every word of the text is weighed');
  await shot('20-playground-explained');

  // Evaluate: about 10 test texts a label, so the headline is a cross-validation.
  await (await browser.$('#nav-evaluate')).click();
  const cv = await browser.$('#eval-cv');
  await cv.waitForExist({ timeout: 120000 });
  assert.match(await cv.getText(), /cross-validation over all 200 labelled texts/);
  await (await browser.$('#eval-test-small')).waitForExist();
  // The fix-errors loop on an error cell (off the diagonal) that holds texts.
  let cell = null;
  for (const c of await browser.$$('.cm-cell:not(.diag)')) {
    if (Number(await c.getText()) > 0) {
      cell = c;
      break;
    }
  }
  assert.ok(cell, 'the model made no error on the test texts');
  const truth = await cell.getAttribute('data-truth');
  const predicted = await cell.getAttribute('data-predicted');
  const before = Number(await cell.getText());
  await cell.click();
  await (await browser.$('#cell-items li .weights')).waitForExist({ timeout: 60000 });
  // Relabel with a button, undo, relabel again.
  await (await browser.$(`#cell-items .relabel-btn[data-label="${predicted}"]`)).click();
  const retrain = await browser.$('#retrain-fixes');
  await browser.waitUntil(async () => (await retrain.getText()).includes('(1)'), { timeout: 60000, timeoutMsg: 'the fix was not counted' });
  await (await browser.$('#eval-undo')).click();
  await browser.waitUntil(async () => (await retrain.getText()).includes('(0)'), { timeout: 60000, timeoutMsg: 'undo did not take the fix back' });
  await browser.waitUntil(async () => Number(await (await browser.$(`.cm-cell[data-truth="${truth}"][data-predicted="${predicted}"]`)).getText()) === before, { timeout: 60000 });
  await (await browser.$(`.cm-cell[data-truth="${truth}"][data-predicted="${predicted}"]`)).click();
  await (await browser.$(`#cell-items .relabel-btn[data-label="${predicted}"]`)).waitForExist({ timeout: 30000 });
  await (await browser.$(`#cell-items .relabel-btn[data-label="${predicted}"]`)).click();
  await browser.waitUntil(async () => (await retrain.getText()).includes('(1)'), { timeout: 60000 });
  await shot('21-fix-errors');
  await retrain.click();
  const outcome = await browser.$('#fix-outcome');
  await outcome.waitForExist({ timeout: 480000, interval: 1000 });
  await outcome.scrollIntoView();
  await shot('22-fix-errors-retrained');

  // The same in Chinese.
  await (await browser.$('#locale')).selectByAttribute('value', 'zh');
  await browser.waitUntil(async () => /修正前/.test(await outcome.getText()), { timeout: 10000 });
  await shot('23-fix-errors-retrained-zh');
  await (await browser.$('#nav-playground')).click();
  await (await browser.$('#play-words')).waitForExist({ timeout: 30000 });
  assert.match(await (await browser.$('#play-words')).getAttribute('aria-label'), /标签/);
  await shot('24-playground-explained-zh');

  // Every pane, in English and then in Chinese, with a screenshot of each for the README.
  // In Chinese nothing the app says may be left in English: only the user's own data
  // (texts, the label names, model names) and names that read the same in Chinese.
  const userData = ['negative', 'positive', 'all-minilm-l6-v2', 'all-MiniLM-L6-v2', 'MiniLM'];
  const panes = [
    ['start', '#start-h'],
    ['label', '#label-progress'],
    ['model', '.model-card'],
    ['train', '#start-training'],
    ['evaluate', '#eval-accuracy'],
    ['playground', '#play-text'],
    ['export', '#export-go'],
  ];
  const leaks = {};
  for (const locale of ['en', 'zh']) {
    await (await browser.$('#locale')).selectByAttribute('value', locale);
    for (const [i, [pane, ready]] of panes.entries()) {
      await (await browser.$(`#nav-${pane}`)).click();
      await (await browser.$(ready)).waitForExist({ timeout: 60000 });
      if (pane === 'evaluate') {
        // The reliability diagram, drawn by the engine, is checked too.
        const details = await browser.$('#eval-calibration');
        if ((await details.isExisting()) && !(await details.getAttribute('open'))) await (await browser.$('#eval-calibration summary')).click();
      }
      await shot(`pane-${locale}-${i + 1}-${pane}`);
      if (locale === 'zh') {
        const left = await untranslated(browser, userData);
        if (left.length > 0) leaks[pane] = left;
      }
    }
  }
  assert.deepEqual(leaks, {}, 'English left on the panes in Chinese mode');
  // The charts follow the language: the loss chart says 交叉熵, not cross-entropy.
  await (await browser.$('#nav-train')).click();
  const loss = await browser.$('#loss-chart');
  await loss.waitForExist({ timeout: 30000 });
  const lossSvg = await browser.execute((el) => new TextDecoder().decode(Uint8Array.from(atob(el.src.split(',')[1]), (c) => c.charCodeAt(0))), loss);
  assert.match(lossSvg, /交叉熵/);
  assert.doesNotMatch(lossSvg, /cross-entropy/);
});
