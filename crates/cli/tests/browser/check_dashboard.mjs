// Opens a crm dashboard from file:// in Debian's headless Chromium through
// Playwright (the DevTools protocol) and prints what a person would see as
// one JSON object: console errors, network requests other than file:/data:,
// each section with its chart's size and element count, the fonts loaded,
// and a full-page screenshot written to SHOT.
//
// Usage: node check_dashboard.mjs DASHBOARD.html SHOT.png
import path from 'node:path';
import { chromium } from 'playwright-core';

const [html, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CRM_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('file:') && !u.startsWith('data:')) requests.push(u);
  });
  await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
  await page.evaluate(() => document.fonts.ready);
  const sections = await page.$$eval('main section', (all) => all.map((s) => {
    const svg = s.querySelector('figure svg');
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return {
      id: s.id,
      state: s.className,
      title: s.querySelector('h2')?.textContent ?? '',
      svg_elements: svg ? svg.querySelectorAll('*').length : 0,
      svg_texts: svg ? svg.querySelectorAll('text').length : 0,
      width: box.width,
      height: box.height,
      no_data: s.querySelector('.no-data')?.textContent ?? null,
    };
  }));
  const fonts = await page.evaluate(() => [...document.fonts].map((f) => `${f.family}:${f.status}`));
  const asOf = await page.textContent('#as-of');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ errors, requests, sections, fonts, as_of: asOf }));
} finally {
  await browser.close();
}
