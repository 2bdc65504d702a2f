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

/** The first visible X window `find` returns for `xdotool search --onlyvisible ...args`
 *  and `keep` accepts (given its name and geometry), waiting up to 20 s for one. */
async function waitForWindow(args, what, keep = () => true) {
  for (let i = 0; i < 100; i++) {
    let ids = [];
    try {
      ids = execFileSync('xdotool', ['search', '--onlyvisible', ...args]).toString().trim().split('\n');
    } catch {
      // none yet
    }
    for (const wid of ids) {
      const geo = Object.fromEntries(
        execFileSync('xdotool', ['getwindowgeometry', '--shell', wid])
          .toString()
          .trim()
          .split('\n')
          .map((l) => l.split('=')),
      );
      const name = execFileSync('xdotool', ['getwindowname', wid]).toString().trim();
      if (keep(name, geo)) return { wid, geo };
    }
    await sleep(200);
  }
  assert.fail(`${what} did not appear`);
}

/** Gives the keyboard to window `wid` and presses `keys`. */
function pressIn(wid, ...keys) {
  execFileSync('xdotool', ['windowfocus', '--sync', wid]);
  execFileSync('xdotool', ['key', '--clearmodifiers', ...keys]);
}

/** Types `file` into the native GTK dialog titled `title` and confirms it. The Open
 *  dialog takes a path after ctrl+l; the Save dialog's name field has the focus and
 *  takes a whole path once its suggestion is selected (ctrl+a). */
async function typeInNativeDialog(title, keys, file) {
  const { wid } = await waitForWindow(['--name', `^${title}$`], `the ${title} dialog`);
  await sleep(1000);
  pressIn(wid, keys);
  await sleep(300);
  execFileSync('xdotool', ['type', '--delay', '20', file]);
  await sleep(300);
  execFileSync('xdotool', ['key', 'Return']);
}

/** Answers the question the Save dialog asks before it replaces a file ("A file named …
 *  already exists. Do you want to replace it?", a small untitled window): Return
 *  replaces it, Escape keeps it (and leaves the Save dialog open). */
export async function answerReplaceQuestion(replace) {
  const { wid } = await waitForWindow(['--name', '^$'], 'the question whether to replace the file', (_, g) => {
    const [w, h] = [Number(g.WIDTH), Number(g.HEIGHT)];
    return w > 200 && w < 1000 && h > 60 && h < 400;
  });
  await sleep(500);
  pressIn(wid, replace ? 'Return' : 'Escape');
}

/** Closes the native dialog titled `title` without choosing anything (Escape). */
export async function cancelNativeDialog(title) {
  const { wid } = await waitForWindow(['--name', `^${title}$`], `the ${title} dialog`);
  await sleep(300);
  pressIn(wid, 'Escape');
}

export const pickInNativeDialog = (file) => typeInNativeDialog('Open File', 'ctrl+l', file);
export const saveInNativeDialog = (file) => typeInNativeDialog('Save File', 'ctrl+a', file);

/** Drags `file` onto the app's window with the mouse, from a real GTK drag source
 *  (tests/e2e/drag-source.py), as a user drags it from a file manager: the app receives an
 *  X drag-and-drop of a text/uri-list. Resolves once the drag has ended. */
export async function dropOnApp(file) {
  const source = spawn('/usr/bin/python3', [path.join(here, 'drag-source.py'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  source.stdout.on('data', (d) => lines.push(...d.toString().trim().split('\n')));
  const waitFor = async (word, what) => {
    for (let i = 0; i < 150 && !lines.some((l) => l.startsWith(word)); i++) await sleep(100);
    const line = lines.find((l) => l.startsWith(word));
    assert.ok(line, `the drag source never said ${what}`);
    return line;
  };
  try {
    const [sx, sy] = (await waitFor('ready', 'it was shown')).split(' ').slice(1).map(Number);
    const { geo } = await waitForWindow(['--name', '^Sentiment Studio'], 'the app\'s window');
    const [tx, ty] = [Number(geo.X) + Math.floor(Number(geo.WIDTH) / 2), Number(geo.Y) + Math.floor(Number(geo.HEIGHT) / 2)];
    const xdo = (...args) => execFileSync('xdotool', args.map(String));
    xdo('mousemove', '--sync', sx, sy);
    await sleep(200);
    xdo('mousedown', 1);
    // GTK starts a drag after the pointer moves a few pixels with the button held; then
    // the target sees the pointer enter and move over it before the drop.
    for (let i = 1; i <= 20; i++) {
      xdo('mousemove', Math.round(sx + ((tx - sx) * i) / 20), Math.round(sy + ((ty - sy) * i) / 20));
      await sleep(50);
    }
    await sleep(300);
    xdo('mouseup', 1);
    await waitFor('dropped', 'the drag ended');
  } finally {
    source.kill();
  }
}

/** Writes `sheets` ([name, rows][]) as an .xlsx workbook with inline strings (Python's
 *  zipfile: the layout Excel writes, without a spreadsheet library). */
export function writeWorkbook(file, sheets) {
  const script = String.raw`
import json, sys, zipfile
from xml.sax.saxutils import escape
out, sheets = sys.argv[1], json.loads(sys.argv[2])
ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
files = {}
for i, (name, rows) in enumerate(sheets, start=1):
    body = "".join(
        '<row r="%d">%s</row>' % (r, "".join('<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (chr(65 + c), r, escape(v)) for c, v in enumerate(row)))
        for r, row in enumerate(rows, start=1))
    files["xl/worksheets/sheet%d.xml" % i] = '<?xml version="1.0" encoding="UTF-8"?><worksheet %s><sheetData>%s</sheetData></worksheet>' % (ns, body)
overrides = "".join('<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % i for i in range(1, len(sheets) + 1))
files["[Content_Types].xml"] = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>%s</Types>' % overrides
files["_rels/.rels"] = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="%s/officeDocument" Target="xl/workbook.xml"/></Relationships>' % rel
files["xl/workbook.xml"] = '<?xml version="1.0" encoding="UTF-8"?><workbook %s xmlns:r="%s"><sheets>%s</sheets></workbook>' % (ns, rel, "".join('<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (escape(n), i, i) for i, (n, _) in enumerate(sheets, start=1)))
files["xl/_rels/workbook.xml.rels"] = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">%s</Relationships>' % "".join('<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>' % (i, rel, i) for i in range(1, len(sheets) + 1))
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in files.items():
        z.writestr(name, data)
`;
  execFileSync('python3', ['-c', script, file, JSON.stringify(sheets)]);
}
