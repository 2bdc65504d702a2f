// Starts the real app under tauri-driver + WebKitWebDriver in a throwaway HOME and
// STUDIO_HOME (the default model linked in), and stops it again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
const target = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
const HOME = os.homedir();
export const APP_BIN = process.env.APP_BIN ?? path.join(target, 'release', 'sentiment-studio');
export const STUDIO_BIN = process.env.STUDIO_BIN ?? path.join(target, 'release', 'studio');
export const MODELS = process.env.STUDIO_MODELS ?? path.join(HOME, '.cache/studio/home/models');
export const DATA = process.env.STUDIO_DATA ?? path.join(HOME, '.cache/studio/data/movies/train.csv');
const DRIVER = process.env.TAURI_DRIVER ?? path.join(HOME, '.cargo/bin/tauri-driver');
export const SHOTS = path.join(here, 'screenshots');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function waitPort(port, ms) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.end();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > end) reject(new Error(`nothing listens on :${port}`));
        else setTimeout(tryOnce, 200);
      });
    };
    tryOnce();
  });
}

/**
 * Starts the app; `env` overrides the environment it runs in. With `withModel: false`
 * its model folder starts empty, as on a first run after installing.
 */
export async function startApp(env = {}, { withModel = true } = {}) {
  const needs = [['app', APP_BIN], ['tauri-driver', DRIVER]];
  if (withModel) needs.push(['model', path.join(MODELS, 'all-minilm-l6-v2')]);
  for (const [what, p] of needs) {
    assert.ok(fs.existsSync(p), `${what} not found at ${p}`);
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-'));
  const home = path.join(tmp, 'home');
  const studioHome = path.join(tmp, 'studio-home');
  fs.mkdirSync(path.join(studioHome, 'models'), { recursive: true });
  if (withModel) fs.symlinkSync(path.join(MODELS, 'all-minilm-l6-v2'), path.join(studioHome, 'models', 'all-minilm-l6-v2'));
  fs.mkdirSync(home, { recursive: true });
  const driver = spawn(DRIVER, ['--port', '4444', '--native-port', '4445', '--native-driver', '/usr/bin/WebKitWebDriver'], {
    env: {
      ...process.env,
      HOME: home,
      XDG_DATA_HOME: path.join(home, '.local/share'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      STUDIO_HOME: studioHome,
      STUDIO_CACHE: path.join(tmp, 'no-cache'),
      LANG: 'C.UTF-8',
      LC_ALL: '',
      NO_AT_BRIDGE: '1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const kill = () => driver.kill();
  process.on('exit', kill);
  await waitPort(4444, 20000);
  const browser = await remote({
    hostname: '127.0.0.1',
    port: 4444,
    logLevel: 'warn',
    connectionRetryTimeout: 120000,
    capabilities: {
      browserName: 'wry',
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: APP_BIN },
    },
  });
  return { browser, driver, tmp, kill };
}

export async function stopApp(ctx) {
  if (!ctx) return;
  await ctx.browser?.deleteSession().catch(() => {});
  ctx.driver.kill();
  await new Promise((r) => (ctx.driver.exitCode != null ? r() : ctx.driver.once('exit', r)));
  process.off('exit', ctx.kill);
  if (!process.env.E2E_KEEP) {
    // The app may still be writing its web cache while it exits.
    try {
      fs.rmSync(ctx.tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
    } catch (e) {
      console.warn(`could not remove ${ctx.tmp}: ${e.message}`);
    }
  }
}
