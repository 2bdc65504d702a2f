// The installed .deb: its files are where a desktop expects them, and the installed
// binary opens its first window (a fresh HOME, no model yet) with the Start pane drawn
// and the Model pane offering the default model's download. Run by scripts/test-app
// after it has built the package with scripts/package and installed it with dpkg;
// APP_BIN points at the installed binary.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { APP_BIN, SHOTS, sleep, startApp, stopApp } from '../e2e/harness.mjs';

const PACKAGE = 'sentiment-studio';
let ctx;

test('the package puts the binary, a desktop entry, an icon and the licence in place', () => {
  assert.equal(APP_BIN, '/usr/bin/sentiment-studio', 'APP_BIN must be the installed binary');
  const status = execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', PACKAGE], { encoding: 'utf8' });
  assert.match(status, /^install ok installed 0\.1\.0/);
  const files = execFileSync('dpkg', ['-L', PACKAGE], { encoding: 'utf8' }).split('\n');
  assert.ok(files.includes('/usr/bin/sentiment-studio'), 'binary in /usr/bin');
  const desktop = files.find((f) => f.startsWith('/usr/share/applications/') && f.endsWith('.desktop'));
  assert.ok(desktop, `a desktop entry among ${files.join(' ')}`);
  const entry = fs.readFileSync(desktop, 'utf8');
  assert.match(entry, /^Name=Sentiment Studio$/m);
  assert.match(entry, /^Exec=sentiment-studio/m);
  assert.match(entry, /^Categories=.*Office/m);
  const icon = entry.match(/^Icon=(.+)$/m)?.[1];
  assert.ok(icon && files.some((f) => f.startsWith('/usr/share/icons/') && path.basename(f, '.png') === icon), `icon ${icon} installed`);
  const copyright = files.find((f) => f.endsWith('/copyright'));
  assert.ok(copyright && /MIT License/.test(fs.readFileSync(copyright, 'utf8')), 'licence text in the package');
});

before(async () => {
  ctx = await startApp({}, { withModel: false });
});
after(async () => {
  await stopApp(ctx);
});

test('the installed app draws its first window and offers the default model', async () => {
  const b = ctx.browser;
  const heading = await b.$('#start-h');
  await heading.waitForDisplayed({ timeout: 60000 });
  assert.equal(await heading.getText(), 'Turn your texts into a classifier');
  // A real X window with the app's title, not only a WebView answering WebDriver.
  const windows = execFileSync('xdotool', ['search', '--name', '^Sentiment Studio$'], { encoding: 'utf8' }).trim();
  assert.ok(windows.length > 0, 'an X window named Sentiment Studio');
  await sleep(500);
  fs.mkdirSync(SHOTS, { recursive: true });
  await b.saveScreenshot(path.join(SHOTS, '0-installed-first-window.png'));

  await (await b.$('#nav-model')).click();
  const card = await b.$('.model-card[data-id="all-minilm-l6-v2"]');
  await card.waitForDisplayed({ timeout: 30000 });
  const download = await card.$('button*=Download');
  assert.ok(await download.isDisplayed(), 'the default model can be downloaded from the Model pane');
  await b.saveScreenshot(path.join(SHOTS, '0-installed-model.png'));
});
