// workbench.mjs: the clinical workbench end to end in a real browser: playwright-core driving
// Debian's chromium against a real `ward serve` with three tiny random-weight models. Creates a
// case, runs the differential in three columns, picks and fills back, votes, reports an error,
// re-runs a column, drafts a discharge record, edits and signs it, sees the dashboard's numbers
// change, and exports DPO pairs. Accounts: the doctor signs in first; injected markup in case
// text stays text and the Content-Security-Policy stops inline script even where markup gets
// in; an auditor sees the audit trail (and verifies it) but no case; an admin sees accounts;
// signing out returns to the sign-in form. Answers are schema-constrained, so every step has a definite
// shape even from random weights. Screenshots of each page go to SHOTS_DIR (docs/screenshots
// when run by hand). Run by ctest: node workbench.mjs WARD_BINARY SHARED_MODELS_DIR [SHOTS_DIR]
import { check, finish, startServer } from './serve.mjs';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
// SQLite by default; with WARD_TEST_PG_DIR (a cluster from tests/scaleout/pg.sh) the same
// suite on PostgreSQL, its schema emptied first
const pgDir = process.env.WARD_TEST_PG_DIR;
const db = pgDir ? readFileSync(join(pgDir, 'uri'), 'utf8').trim() : join(dir, 'workbench.db');
if (pgDir) execFileSync('psql', [db, '-X', '-q', '-c', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
console.log(`database: ${pgDir ? 'PostgreSQL' : 'SQLite'}`);
const PASSWORD = 'correct-horse-battery';
for (const [name, role, full] of [['doc', 'doctor', '李医生'], ['aud', 'auditor', '审计员'], ['adm', 'admin', '管理员']])
  execFileSync(ward, ['user', 'add', name, '--role', role, '--display-name', full, '--db', db],
    { input: `${PASSWORD}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
const { srv, base } = await startServer(ward, [
  '-m', `qwen=${modelsDir}/random-qwen2.gguf`, '-m', `llama=${modelsDir}/random-k256-Q4_0.gguf`,
  '-m', `stories=${modelsDir}/stories260K.gguf`, '--ctx', '8192', '-t', '2', '--parallel', '2',
  '--db', db], { workbench: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
const errors = [], refused = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) refused.push(m.text()); });
const signIn = async (p, name) => {
  await p.goto(`${base}/`);
  await p.fill('input[name=name]', name);
  await p.fill('input[name=password]', PASSWORD);
  await p.getByRole('button', { name: '登录' }).click();
  await p.locator('#who button').waitFor();
};
// the case as the server has it, fetched in the page (its session cookie)
const caseJSON = (id) => page.evaluate(async (id) => (await fetch(`/api/cases/${id}`)).json(), id);
const shot = async (name) => { // the page as the doctor sees it, without a passing toast
  if (!shots) return;
  await page.evaluate(() => document.getElementById('toast').classList.remove('show'));
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
};
const T = 180000; // generation steps may take a while on a slow or sanitized build

try {
  await page.goto(`${base}/`);
  await page.locator('form.login').waitFor();
  await shot('login');
  await page.fill('input[name=name]', 'doc');
  await page.fill('input[name=password]', 'wrong-password-here');
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('form.login [role=alert]').filter({ hasText: 'wrong user name or password' }).waitFor();
  check(true, 'a wrong password is refused at the sign-in form');
  await signIn(page, 'doc');
  check(await page.locator('a[data-nav=audit]').isHidden() && await page.locator('a[data-nav=cases]').isVisible(),
    "the doctor's header has cases and no audit trail");
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
    const c = await caseJSON(caseId);
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
  await page.getByRole('button', { name: '以 李医生 签署' }).click();
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
  check(refused.length === 0, `the app itself trips no Content-Security-Policy rule (${refused.join('; ')})`);

  // injected markup: case text is text; markup that does get into the page cannot run script
  const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  await page.goto(`${base}/#/cases/new`);
  await page.fill('input[name=title]', evil);
  await page.fill('textarea[name=chief_complaint]', evil);
  await page.getByRole('button', { name: '保存', exact: true }).click();
  await page.waitForURL(/#\/cases\/\d+$/);
  await page.getByRole('link', { name: '返回列表' }).click();
  await page.locator('tr.row').filter({ hasText: '<img src=x' }).first().waitFor();
  await page.evaluate(() => { // as if a bug put model output into innerHTML
    const d = document.createElement('div');
    d.innerHTML = '<img src=x onerror="window.__xss=3">';
    document.body.append(d);
  });
  await page.waitForTimeout(300);
  check(await page.evaluate(() => window.__xss === undefined) && await page.locator('tr.row img').count() === 0,
    'XSS payloads stay inert: shown as text, and an injected onerror handler is refused by the CSP');
  check(refused.length >= 1, `the CSP refused the injected inline handler (${refused.length} report)`);

  // the auditor: the trail (with the doctor's actions), verification, no cases
  const auditor = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  await signIn(auditor, 'aud');
  await auditor.locator('table.audit tbody tr').first().waitFor();
  await auditor.fill('input[name=actor]', 'doc');
  await auditor.fill('input[name=action]', 'discharge.sign');
  await auditor.getByRole('button', { name: '查询' }).click();
  await auditor.getByText('共 1 条').waitFor(); // the filtered answer, not the list before it
  check(await auditor.locator('table.audit tbody tr').count() === 1 &&
        await auditor.locator('table.audit tbody tr').filter({ hasText: 'discharge.sign' }).count() === 1,
        "the auditor finds the doctor's signature in the trail");
  await auditor.fill('input[name=actor]', '');
  await auditor.fill('input[name=action]', '');
  await auditor.getByRole('button', { name: '查询' }).click();
  await auditor.getByRole('button', { name: '校验哈希链' }).click();
  await auditor.locator('.signed').filter({ hasText: '完整' }).waitFor();
  check(true, 'the auditor verifies the hash chain: intact');
  if (shots) await auditor.screenshot({ path: join(shots, 'audit.png'), fullPage: false });
  await auditor.goto(`${base}/#/cases`);
  await auditor.getByText('无权访问').waitFor();
  check(await auditor.locator('a[data-nav=cases]').isHidden(), 'the auditor cannot open cases');
  await auditor.close();
  const admin = await browser.newPage();
  await signIn(admin, 'adm');
  await admin.goto(`${base}/#/accounts`);
  await admin.locator('table.audit tbody tr').filter({ hasText: 'doc' }).waitFor();
  check(await admin.locator('a[data-nav=cases]').isHidden(), 'the admin sees the accounts and no cases');
  await admin.close();
  await page.locator('#who button').click();
  await page.locator('form.login').waitFor();
  check(true, 'signing out returns to the sign-in form');
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
