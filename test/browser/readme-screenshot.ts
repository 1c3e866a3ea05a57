// Takes the README's picture of the dev host's console (docs/devhost.png):
//   node --import tsx test/browser/readme-screenshot.ts [out.png]
// A playground dev host scrapes for a while, a dump of the last hour is made through the page,
// then the top of the page (status, stats) and the dump table are stacked into one image
// (the ordinary settings between them are left out to keep it small).
import fs from 'node:fs';
import path from 'node:path';

import {repoRoot} from '../../devhost/devhost.ts';
import {ensureChromium, launchChromium, startPlayground} from './harness.ts';

const out = path.resolve(process.argv[2] ?? path.join(repoRoot, 'docs/devhost.png'));
const skip = ensureChromium();
if (skip) {
  process.stderr.write(`${skip}\n`);
  process.exit(1);
}

const playground = await startPlayground();
const browser = await launchChromium();
try {
  const page = await browser.newPage({viewport: {width: 1400, height: 800}, acceptDownloads: true});
  await page.goto(playground.consoleUrl);
  await page.waitForSelector('body[data-ready="true"]');
  await page.locator('[data-testid="status-target"][data-health="up"]').first().waitFor({timeout: 60_000});
  // Some data and a second scrape-age tick, so the numbers look alive.
  await page.waitForTimeout(20_000);
  await page.getByTestId('dumps-create').click();
  await page.getByTestId('dump-preset-1h').click();
  await page.getByTestId('dump-submit').click();
  await page.locator('[data-testid="dump-job-row"][data-status="success"]').first().waitFor({timeout: 120_000});
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.locator('[data-testid="status-target"][data-health="up"]').first().waitFor();
  await page.locator('[data-testid="dump-job-row"]').first().waitFor();
  await page.waitForTimeout(1_000);

  const statsBox = await page.locator('[data-setting="Stats"]').boundingBox();
  const dumpsBox = await page.locator('[data-setting="Dumps"]').boundingBox();
  if (!statsBox || !dumpsBox) throw new Error('the Stats or Dumps setting is not on the page');
  const top = await page.screenshot({fullPage: true, clip: {x: 0, y: 0, width: 1400, height: statsBox.y + statsBox.height + 12}});
  const bottom = await page.screenshot({fullPage: true, clip: {x: 220, y: dumpsBox.y - 12, width: 1180, height: dumpsBox.height + 24}});
  const composite = await browser.newPage({viewport: {width: 1400, height: 400}});
  const img = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;
  await composite.setContent(
    `<body style="margin:0;background:#1e325c"><img src="${img(top)}" style="display:block"><div style="margin-left:220px;background:#f5f5f6;color:#3f4350;font:12px sans-serif;padding:4px 24px">⋯ the plugin's ordinary settings ⋯</div><img src="${img(bottom)}" style="display:block;margin-left:220px"></body>`,
  );
  fs.mkdirSync(path.dirname(out), {recursive: true});
  await composite.screenshot({path: out, fullPage: true});
  process.stdout.write(`${path.relative(process.cwd(), out)}: ${fs.statSync(out).size} bytes\n`);
} finally {
  await browser.close();
  await playground.stop();
}
