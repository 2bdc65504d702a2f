// Starts the real app under tauri-driver + WebKitWebDriver in a throwaway HOME and
// STUDIO_HOME (the default model linked in), and stops it again.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
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

/** Words a Chinese screen may show in Latin letters: names of formats, hardware, libraries
 *  and units, which read the same in Chinese. Anything else in Latin letters on a zh-CN
 *  screen is an English string the app forgot to translate. User data (texts, label
 *  names, file paths, model names) is marked `data-user` in the UI or passed as `extra`. */
export const SAME_IN_CHINESE = [
  'Sentiment Studio', 'Hugging Face', 'transformers', 'ONNX Runtime', 'ONNX', 'int8', 'JavaScript', 'Python', 'Java', 'C#',
  'CSV', 'TSV', 'JSONL', 'JSON', 'TXT', 'XLSX', 'Excel', 'UTF', 'GBK', 'GB18030', 'Big5', 'Shift JIS', 'Windows', 'Unicode',
  'CPU', 'GPU', 'NVIDIA', 'CUDA', 'Metal', 'OpenBLAS', 'LoRA', 'F1', 'MB', 'GB', 'MiB', 'ID', 'English',
  // File names of the export, licence names.
  'model.onnx', 'model_int8.onnx', 'MIT', 'Apache',
  // Keys as printed on the keyboard.
  'Ctrl', 'Enter', 'Shift', 'Esc', 'Tab',
];

/** Visible text on the page with Latin words outside `allowed` (SAME_IN_CHINESE and the
 *  given user data), from text nodes, the shown option of every select, placeholders and
 *  titles, and the words drawn on the engine's charts. Code blocks, inputs and elements
 *  marked `data-user` are the user's or a program's, not the app's words. */
export async function untranslated(browser, extra = []) {
  return browser.execute((allowed) => {
    const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const strip = new RegExp(allowed.sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
    const latin = (s) => /[A-Za-z]{2,}/.test(s.replace(strip, ' '));
    const skip = 'pre, code, textarea, input, option, script, style, [data-user], svg';
    const visible = (el) => el.getClientRects().length > 0;
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const el = node.parentElement;
      if (!el || el.closest(skip) || !visible(el)) continue;
      const s = node.textContent.trim();
      if (s && latin(s)) found.push(s);
    }
    for (const el of document.querySelectorAll('select')) {
      if (el.closest('[data-user]') || !visible(el)) continue;
      const s = el.selectedOptions[0]?.text ?? '';
      if (latin(s)) found.push(`<option> ${s}`);
    }
    for (const el of document.querySelectorAll('[placeholder], [title]')) {
      if (el.closest('[data-user]') || !visible(el)) continue;
      for (const a of ['placeholder', 'title']) {
        const s = el.getAttribute(a) ?? '';
        if (latin(s)) found.push(`${a}: ${s}`);
      }
    }
    for (const img of document.querySelectorAll('img[src^="data:image/svg+xml"]')) {
      if (!visible(img)) continue;
      const b64 = img.src.slice(img.src.indexOf(',') + 1);
      const svg = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
      for (const m of svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)) {
        const s = m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
        if (latin(s)) found.push(`chart ${img.id}: ${s}`);
      }
    }
    return [...new Set(found)];
  }, [...SAME_IN_CHINESE, ...extra]);
}

/** Minimal CSV reader (quotes, doubled quotes, commas and newlines inside quotes). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Whitespace runs as one space, trimmed: texts as the UI shows them. */
export const norm = (s) => s.replace(/\s+/g, ' ').trim();

/** Types `file` into the native GTK dialog titled `title` and confirms it. The Open
 *  dialog takes a path after ctrl+l; the Save dialog's name field has the focus and
 *  takes a whole path once its suggestion is selected (ctrl+a). */
async function typeInNativeDialog(title, keys, file) {
  let wid = '';
  for (let i = 0; i < 100 && !wid; i++) {
    try {
      wid = execFileSync('xdotool', ['search', '--onlyvisible', '--name', `^${title}$`]).toString().trim().split('\n')[0];
    } catch {
      await sleep(200);
    }
  }
  assert.ok(wid, `the ${title} dialog did not appear`);
  await sleep(1000);
  execFileSync('xdotool', ['windowfocus', '--sync', wid]);
  execFileSync('xdotool', ['key', '--clearmodifiers', keys]);
  await sleep(300);
  execFileSync('xdotool', ['type', '--delay', '20', file]);
  await sleep(300);
  execFileSync('xdotool', ['key', 'Return']);
}

export const pickInNativeDialog = (file) => typeInNativeDialog('Open File', 'ctrl+l', file);
export const saveInNativeDialog = (file) => typeInNativeDialog('Save File', 'ctrl+a', file);
