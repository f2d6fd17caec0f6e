// workbench.mjs: the clinical workbench end to end in a real browser: playwright-core driving
// Debian's chromium against a real `ward serve` with three tiny random-weight models. Creates a
// case, runs the differential in three columns, picks and fills back, votes, reports an error,
// re-runs a column, drafts a discharge record, edits and signs it, sees the dashboard's numbers
// change, and exports DPO pairs. Answers are schema-constrained, so every step has a definite
// shape even from random weights. Screenshots of each page go to SHOTS_DIR (docs/screenshots
// when run by hand). Run by ctest: node workbench.mjs WARD_BINARY SHARED_MODELS_DIR [SHOTS_DIR]
import { check, finish, startServer } from './serve.mjs';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [ward, modelsDir, shots = null] = process.argv.slice(2);
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`FAIL ${CHROMIUM} is missing: scripts/deps.sh installs chromium and fonts-noto-cjk`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'ward-wb-'));
const db = join(dir, 'workbench.db');
const { srv, base } = await startServer(ward, [
  '-m', `qwen=${modelsDir}/random-qwen2.gguf`, '-m', `llama=${modelsDir}/random-k256-Q4_0.gguf`,
  '-m', `stories=${modelsDir}/stories260K.gguf`, '--ctx', '8192', '-t', '2', '--parallel', '2',
  '--db', db], { workbench: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
const shot = async (name) => { // the page as the doctor sees it, without a passing toast
  if (!shots) return;
  await page.evaluate(() => document.getElementById('toast').classList.remove('show'));
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
};
const T = 180000; // generation steps may take a while on a slow or sanitized build

try {
  await page.goto(`${base}/#/dashboard`); // before: nothing used yet
  await page.locator('canvas#perModel').waitFor();
  const before = await page.locator('.stat .n').allInnerTexts();
  check(before[0] === '0' && before[1] === '—' && before[3] === '0 / 0', `an empty dashboard (${before.join(', ')})`);
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: '导入示例病例' }).click();
  await page.locator('#toast').filter({ hasText: '已导入 20 个示例病例' }).waitFor();
  await page.locator('tr.row').nth(19).waitFor();
  check(await page.locator('tr.row').count() === 20, 'the 20 demo cases are listed');
  await page.fill('#search', '胸痛');
  await page.waitForFunction(() => document.querySelectorAll('tr.row').length < 20);
  check(await page.locator('tr.row').count() >= 1, 'search narrows the list');
  await page.fill('#search', '');
  await page.waitForFunction(() => document.querySelectorAll('tr.row').length === 20);
  await shot('cases');

  await page.getByRole('button', { name: '新建病例' }).click();
  await page.fill('input[name=title]', '发热咳嗽待查（演示）');
  await page.fill('input[name=department]', '呼吸内科');
  await page.selectOption('select[name=sex]', '女');
  await page.fill('input[name=age]', '52');
  await page.fill('textarea[name=chief_complaint]', '发热伴咳嗽3天。');
  await page.fill('textarea[name=physical_exam]', 'T 38.6℃，右下肺可闻及湿啰音。');
  await page.getByRole('button', { name: '保存', exact: true }).click();
  await page.waitForURL(/#\/cases\/\d+$/);
  const caseId = Number(page.url().split('/').pop());
  check(caseId > 20, `the new case was saved (#${caseId})`);
  await shot('case');

  await page.getByRole('button', { name: '鉴别诊断' }).click();
  await page.getByRole('button', { name: '开始鉴别诊断' }).click();
  for (const m of ['qwen', 'llama', 'stories'])
    await page.locator(`section.column[data-model=${m}] .status`).filter({ hasText: '完成' }).waitFor({ timeout: T });
  const cards = await page.locator('section.column .dx').count();
  check(cards >= 3, `three columns of diagnoses side by side (${cards} cards)`);
  await shot('differential');

  await page.locator('section.column[data-model=qwen] .dx input[type=checkbox]').first().check();
  await page.locator('section.column[data-model=llama] .dx input[type=checkbox]').first().check();
  await page.getByRole('button', { name: /将选中的诊断填入病历（2）/ }).click();
  await page.locator('#toast').filter({ hasText: '已将 2 个诊断填入病历' }).waitFor();
  check(await page.getByText(/病历中的诊断：/).count() === 1, 'the picks are filled back into the case');
  await page.locator('section.column[data-model=qwen]').getByRole('button', { name: '有用' }).click();
  await page.locator('section.column[data-model=qwen] button.on').waitFor();
  await page.locator('section.column[data-model=llama]').getByRole('button', { name: '报错' }).click();
  await page.locator('dialog select').selectOption('omission');
  await page.locator('dialog textarea').fill('未考虑肺栓塞');
  await page.locator('dialog').getByRole('button', { name: '提交' }).click();
  await page.locator('#toast').filter({ hasText: '已提交错误报告' }).waitFor();
  await Promise.all([page.waitForResponse((r) => r.url().endsWith('/rerun')),
    page.locator('section.column[data-model=stories]').getByRole('button', { name: '重新生成' }).click()]);
  let ddx = [];
  for (const until = Date.now() + T; Date.now() < until; await new Promise((r) => setTimeout(r, 300))) {
    const c = await (await fetch(`${base}/api/cases/${caseId}`)).json();
    ddx = c.generations.filter((g) => g.task === 'differential');
    if (ddx.length === 4 && ddx.every((g) => g.status === 'done')) break;
  }
  check(ddx[3].rerun_of === ddx[2].id && ddx[0].vote === 1 && ddx[1].error_reports === 1 &&
        ddx[0].picks === 1 && ddx[1].picks === 1,
        'the vote, the error report, both picks and the re-run are recorded');
  await page.locator('section.column[data-model=stories] .status').filter({ hasText: '完成' }).waitFor({ timeout: T });

  await page.goto(`${base}/#/cases/${caseId}/discharge`);
  await page.getByRole('button', { name: '生成出院记录' }).click();
  await page.getByText(/草稿 #\d+/).waitFor({ timeout: T });
  const orders = page.locator('textarea[name=discharge_orders]');
  check(await page.locator('.sections textarea').count() === 5, 'the draft fills the five sections');
  await orders.fill('出院后1周呼吸内科门诊复查胸片。');
  await page.getByRole('button', { name: '保存修改' }).click();
  await page.locator('#toast').filter({ hasText: '已保存修改' }).waitFor();
  await page.fill('input[placeholder=签署医生姓名]', '李医生');
  await page.getByRole('button', { name: '签署' }).click();
  await page.locator('.signed').filter({ hasText: '已签署 · 李医生' }).waitFor();
  check(await orders.inputValue() === '出院后1周呼吸内科门诊复查胸片。' && await orders.evaluate((e) => e.readOnly),
        'the signed record keeps the edit and is read-only');
  await shot('discharge');

  await page.goto(`${base}/#/dashboard`);
  await page.locator('canvas#perModel').waitFor();
  const tiles = await page.locator('.stat .n').allInnerTexts();
  check(tiles[0] === '4' && tiles[1] === '50%' && tiles[2] === '100%' && tiles[3] === '1 / 1',
        `the dashboard's numbers changed: 4 answers, 2 of 4 picked, 1 of 1 useful, 1 signed of 1 draft (${tiles.join(', ')})`);
  await shot('dashboard');
  check(errors.length === 0, `no script errors in the page (${errors.join('; ')})`);
} catch (e) {
  check(false, `unexpected: ${e.stack ?? e}`);
  await shot('failure').catch(() => {});
}
await browser.close();
const pairs = execFileSync(ward, ['feedback', 'export', '--db', db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  .trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
check(pairs.some((p) => p.source === 'pick') && pairs.some((p) => p.source === 'edit'),
      `DPO pairs from the picks and the edited record (${pairs.length})`);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
await finish(srv);
