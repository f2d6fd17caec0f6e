// main.js: the clinical workbench in the browser: sign-in, cases, the differential from up to
// three models side by side, the discharge record, the adoption dashboard, the auditor's trail
// and the admin's accounts. Talks only to ward's /api/ (docs/workbench.md). Every piece of case
// text is put into the page as text, never as HTML; the server's Content-Security-Policy allows
// no inline script or style attribute, so styles are set through the CSSOM (el.style).
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const main = document.getElementById('app');
let info = null; // GET /api/info: models, columns, section labels, template versions
let session = null; // GET /api/session: {user, csrf, permissions}; null when signed out
const can = (perm) => session?.permissions.includes(perm);

/* ------------------------------------------------------------------------------------------ */
/* DOM and server helpers                                                                     */
/* ------------------------------------------------------------------------------------------ */

// h('div', {class: 'x', onclick: f}, child, ...): children are nodes or text.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'style') el.style.cssText = v; // the CSSOM: CSP refuses style attributes
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : String(c));
  return el;
}

// el's children replaced by the given ones (null, undefined and false left out, unlike the
// DOM's replaceChildren, which would write them as text).
function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 2500);
}

class SignedOut extends Error {}

// The session cookie goes by itself (HttpOnly: scripts never see it); state changes carry the
// session's CSRF token.
async function api(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(`/api/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && path !== 'login') { session = null; throw new SignedOut(); }
  if (!r.ok) throw new Error(data.error?.message || `HTTP ${r.status}`);
  return data;
}

// Follows a generation's server-sent events: onText(all text so far) per delta; resolves with
// the recorded generation (the "done" event).
async function follow(id, onText) {
  const r = await fetch(`/api/generations/${id}/events`);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const reader = r.body.getReader(), decoder = new TextDecoder();
  let buf = '', text = '', done = null;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const event = /^event: (\w+)/m.exec(block)?.[1], data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || !data) continue; // pings
      const payload = JSON.parse(data);
      if (event === 'delta') { text += payload.text; onText(text); }
      if (event === 'done') done = payload;
    }
  }
  return done;
}

// The JSON a stream has written so far, completed as it would close (answers are generated
// under a schema, so the prefix is always valid JSON up to its last token).
function partialJSON(text) {
  const stack = [];
  let inString = false, escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') stack.pop();
  }
  let t = text;
  if (inString) t += escaped ? '\\"' : '"';
  for (let tries = 0; tries < 3; tries++) {
    try { return JSON.parse(t + [...stack].reverse().join('')); } catch { /* trim below */ }
    t = t.replace(/(,\s*"[^"]*"?\s*:?\s*"?[^"]*"?|,\s*|:\s*|"[^"]*"\s*:\s*)$/, '');
  }
  return null;
}

const likelihoodOrder = { 高: 0, 中: 1, 低: 2 };
const errorCategories = [
  ['factual', '事实错误'], ['omission', '遗漏'], ['irrelevant', '不相关'],
  ['unsafe', '不安全'], ['format', '格式问题'], ['other', '其他'],
];

function sectionLabel(key) {
  return info.case_sections.find((s) => s.key === key)?.label ?? key;
}

/* ------------------------------------------------------------------------------------------ */
/* Case list                                                                                  */
/* ------------------------------------------------------------------------------------------ */

async function listView(app) {
  const q = h('input', { placeholder: '搜索病例（标题、科室、病历内容）', id: 'search' });
  const table = h('tbody');
  const count = h('span', { class: 'muted' });
  async function load() {
    const data = await api('GET', `cases?limit=100&q=${encodeURIComponent(q.value)}`);
    fill(table, ...data.cases.map((c) => h('tr', {
      class: 'row', onclick: () => { location.hash = `#/cases/${c.id}`; },
    }, h('td', {}, c.title || '（无标题）'), h('td', {}, c.department), h('td', {}, c.summary),
    h('td', { class: 'muted' }, c.updated_at.replace('T', ' ').slice(0, 16)))));
    count.textContent = `共 ${data.total} 例`;
  }
  q.addEventListener('input', () => { clearTimeout(load.t); load.t = setTimeout(load, 200); });
  fill(app,
    h('h1', {}, '病例'),
    h('div', { class: 'bar' }, h('div', { class: 'grow' }, q),
      h('button', { class: 'primary', onclick: () => { location.hash = '#/cases/new'; } }, '新建病例'),
      h('button', {
        onclick: async () => {
          const r = await api('POST', 'demo-cases', {});
          toast(`已导入 ${r.imported} 个示例病例（虚构）`);
          load();
        },
      }, '导入示例病例'), count),
    h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, '标题'), h('th', {}, '科室'), h('th', {}, '主诉'),
        h('th', {}, '更新时间'))), table));
  await load();
}

/* ------------------------------------------------------------------------------------------ */
/* One case: its fields                                                                       */
/* ------------------------------------------------------------------------------------------ */

async function caseView(id, app) {
  const c = id ? await api('GET', `cases/${id}`) : { sections: {}, patient: {} };
  const field = (name, value, attrs = {}) => h('input', { name, value: value ?? '', ...attrs });
  const title = field('title', c.title), dept = field('department', c.department);
  const sex = h('select', { name: 'sex' }, ['', '男', '女'].map((s) =>
    h('option', { value: s, selected: (c.patient?.sex ?? '') === s }, s || '（未注明）')));
  const age = field('age', c.patient?.age, { type: 'number', min: 0, max: 130 });
  const areas = Object.fromEntries(info.case_sections.map((s) =>
    [s.key, h('textarea', { name: s.key, value: c.sections?.[s.key] ?? '' })]));
  const free = h('textarea', { name: 'free_text', value: c.free_text ?? '',
    placeholder: '也可以直接粘贴整段病历原文' });
  async function save() {
    const sections = Object.fromEntries(Object.entries(areas).map(([k, a]) => [k, a.value]));
    const patient = { sex: sex.value, ...(age.value ? { age: Number(age.value) } : {}) };
    const body = { title: title.value, department: dept.value, patient, sections, free_text: free.value };
    if (id) { await api('PATCH', `cases/${id}`, body); toast('已保存'); return id; }
    const r = await api('POST', 'cases', { ...body, source: 'ui' });
    location.hash = `#/cases/${r.id}`;
    return r.id;
  }
  const go = (view) => async () => { const saved = await save(); location.hash = `#/cases/${saved}/${view}`; };
  fill(app,
    h('h1', {}, id ? `病例 #${id}` : '新建病例'),
    h('div', { class: 'bar' },
      h('button', { class: 'primary', onclick: () => save().catch((e) => toast(e.message)) }, '保存'),
      h('button', { onclick: go('ddx') }, '鉴别诊断'),
      h('button', { onclick: go('discharge') }, '出院记录'),
      h('a', { href: '#/cases', class: 'button' }, '返回列表')),
    h('div', { class: 'card' },
      h('div', { class: 'grid4' },
        h('div', {}, h('label', {}, '标题'), title), h('div', {}, h('label', {}, '科室'), dept),
        h('div', {}, h('label', {}, '性别'), sex), h('div', {}, h('label', {}, '年龄'), age)),
      h('div', { class: 'grid2 sections' }, info.case_sections.map((s) =>
        h('div', {}, h('label', {}, s.label), areas[s.key]))),
      h('label', {}, '病历原文'), free));
}

/* ------------------------------------------------------------------------------------------ */
/* The differential: the columns side by side                                                 */
/* ------------------------------------------------------------------------------------------ */

function diagnosisCard(col, d, i) {
  const picked = col.picks.has(i);
  const list = (title, items) => {
    const shown = (items ?? []).filter((x) => x.trim());
    return shown.length ? [h('div', { class: 'k' }, title), h('ul', {}, shown.map((x) => h('li', {}, x)))] : [];
  };
  return h('div', { class: `dx${picked ? ' picked' : ''}` },
    h('div', { class: 'title' },
      h('input', { type: 'checkbox', checked: picked, disabled: col.status !== 'done',
        'aria-label': `选择 ${d.name ?? ''}`,
        onchange: (ev) => { if (ev.target.checked) col.picks.add(i); else col.picks.delete(i); col.render(); } }),
      h('span', {}, `${i + 1}. ${d.name ?? ''}`),
      d.likelihood ? h('span', { class: `like ${d.likelihood}` }, d.likelihood) : null),
    ...list('支持', d.supporting), ...list('不支持 / 需排除', d.opposing), ...list('建议检查', d.tests));
}

function makeColumn(model, onPicksChanged) {
  const col = { model, id: null, text: '', status: 'idle', vote: null, picks: new Set() };
  col.el = h('section', { class: 'column', 'data-model': model });
  col.render = () => {
    const answer = partialJSON(col.text);
    const dxs = answer?.diagnoses ?? [];
    const statusText = { idle: '未运行', running: '生成中…', done: '完成', error: '出错', cancelled: '已中断' }[col.status];
    const voteBtn = (value, label) => h('button', {
      class: `small${col.vote === value ? ' on' : ''}`, disabled: col.status !== 'done',
      title: value > 0 ? '有帮助' : '没有帮助',
      onclick: async () => { const g = await api('POST', `generations/${col.id}/vote`, { value }); col.vote = g.vote; col.render(); },
    }, label);
    fill(col.el,
      h('header', {}, h('span', { class: 'name' }, model), h('span', { class: 'status' }, statusText)),
      ...dxs.map((d, i) => diagnosisCard(col, d, i)),
      col.status === 'running' && !dxs.length ? h('div', { class: 'raw' }, col.text) : null,
      col.status === 'error' || col.status === 'cancelled' ? h('div', { class: 'muted' }, col.error) : null,
      h('div', { class: 'actions' }, voteBtn(1, '有用'), voteBtn(-1, '无用'),
        h('button', { class: 'small', disabled: !col.id || col.status === 'running', onclick: () => reportError(col) }, '报错'),
        h('button', { class: 'small', disabled: !col.id || col.status === 'running', onclick: () => col.rerun() }, '重新生成')));
    onPicksChanged();
  };
  col.start = async (id) => {
    Object.assign(col, { id, text: '', status: 'running', vote: null, picks: new Set() });
    col.render();
    const done = await follow(id, (text) => {
      col.text = text;
      cancelAnimationFrame(col.frame);
      col.frame = requestAnimationFrame(col.render);
    });
    col.show(done);
  };
  col.show = (g) => {
    Object.assign(col, { id: g.id, text: g.output, status: g.status, error: g.error, vote: g.vote ?? null });
    col.render();
  };
  col.rerun = async () => {
    const r = await api('POST', `generations/${col.id}/rerun`, {});
    await col.start(r.id);
  };
  col.render();
  return col;
}

function reportError(col) {
  const category = h('select', {}, errorCategories.map(([v, l]) => h('option', { value: v }, l)));
  const text = h('textarea', { placeholder: '哪里有问题？（可选）' });
  const dialog = h('dialog', {},
    h('h2', {}, `报告 ${col.model} 的回答有误`), h('label', {}, '类别'), category,
    h('label', {}, '说明'), text,
    h('div', { class: 'actions' },
      h('button', { class: 'primary', onclick: async () => {
        await api('POST', `generations/${col.id}/errors`, { category: category.value, text: text.value });
        dialog.close(); dialog.remove(); toast('已提交错误报告');
      } }, '提交'),
      h('button', { onclick: () => { dialog.close(); dialog.remove(); } }, '取消')));
  document.body.append(dialog);
  dialog.showModal();
}

async function ddxView(id, app) {
  const c = await api('GET', `cases/${id}`);
  const fillBtn = h('button', { class: 'primary', disabled: true }, '将选中的诊断填入病历');
  const filled = h('div', { class: 'muted' });
  let cols = []; // filled below; the columns' first renders already report their picks
  const picksChanged = () => {
    const n = cols.reduce((k, col) => k + col.picks.size, 0);
    fillBtn.disabled = n === 0;
    fillBtn.textContent = `将选中的诊断填入病历（${n}）`;
  };
  cols = info.columns.map((m) => makeColumn(m, picksChanged));
  const showDiagnosis = (sections) => {
    filled.textContent = sections.diagnosis ? `病历中的诊断：${sections.diagnosis.replaceAll('\n', '；')}` : '';
  };
  showDiagnosis(c.sections);
  fillBtn.addEventListener('click', async () => {
    const picks = cols.flatMap((col) => [...col.picks].map((i) => ({
      generation_id: col.id, diagnosis: partialJSON(col.text).diagnoses[i].name, rank: i + 1 })));
    const updated = await api('POST', `cases/${id}/fill-back`, { picks });
    cols.forEach((col) => { col.picks.clear(); col.render(); });
    showDiagnosis(updated.sections);
    toast(`已将 ${picks.length} 个诊断填入病历`);
  });
  const run = h('button', { class: 'primary', onclick: async () => {
    run.disabled = true;
    try {
      const r = await api('POST', `cases/${id}/differential`, {});
      await Promise.all(r.generations.map((g) => cols.find((col) => col.model === g.model)?.start(g.id)));
    } catch (e) { toast(e.message); }
    run.disabled = false;
  } }, '开始鉴别诊断');
  // the latest finished answer of each column's model, if the case has one
  for (const col of cols) {
    const last = c.generations.filter((g) => g.task === 'differential' && g.model === col.model && g.status !== 'running').pop();
    if (last) col.show(last);
  }
  fill(app,
    h('h1', {}, `鉴别诊断 · ${c.title || `病例 #${id}`}`),
    h('div', { class: 'bar' }, run, fillBtn,
      h('a', { href: `#/cases/${id}`, class: 'button' }, '返回病例'),
      h('span', { class: 'muted grow' }, `${info.templates.differential} · 候选诊断由模型生成，仅供参考`)),
    h('div', { class: 'card', style: 'margin-bottom:14px' },
      h('div', {}, h('b', {}, `${sectionLabel('chief_complaint')}：`), c.sections.chief_complaint ?? c.free_text ?? ''), filled),
    h('div', { class: 'columns' }, cols.map((col) => col.el)));
}

/* ------------------------------------------------------------------------------------------ */
/* The discharge record                                                                       */
/* ------------------------------------------------------------------------------------------ */

async function dischargeView(id, app) {
  const c = await api('GET', `cases/${id}`);
  let record = c.discharge_records.at(-1) ?? null;
  const areas = Object.fromEntries(info.discharge_sections.map((s) =>
    [s.key, h('textarea', { name: s.key, rows: 5 })]));
  const state = h('span', { class: 'muted' });
  const model = h('select', {}, info.models.map((m) => h('option', { value: m }, m)));
  const show = (sections, editable) => {
    for (const s of info.discharge_sections) {
      areas[s.key].value = sections?.[s.key] ?? '';
      areas[s.key].readOnly = !editable;
    }
  };
  const refresh = () => {
    const signed = record?.status === 'signed';
    show(record ? (signed ? record.final : record.current) : {}, record && !signed);
    save.disabled = sign.disabled = !record || signed;
    fill(state, !record ? '尚无出院记录' : signed
      ? h('span', { class: 'signed' }, `已签署 · ${record.signed_by} · ${record.signed_at.replace('T', ' ').slice(0, 16)}`)
      : `草稿 #${record.id}（修改后保存，再签署）`);
  };
  const generate = h('button', { class: 'primary', onclick: async () => {
    generate.disabled = true;
    try {
      const r = await api('POST', `cases/${id}/discharge`, { model: model.value });
      state.textContent = '生成中…';
      const done = await follow(r.id, (text) => show(partialJSON(text) ?? {}, false));
      if (done.discharge_record_id) record = await api('GET', `discharge/${done.discharge_record_id}`);
      else toast(done.error || '生成失败');
    } catch (e) { toast(e.message); }
    generate.disabled = false;
    refresh();
  } }, '生成出院记录');
  const save = h('button', { onclick: async () => {
    const sections = Object.fromEntries(Object.entries(areas).map(([k, a]) => [k, a.value]));
    record = await api('PATCH', `discharge/${record.id}`, { sections });
    toast('已保存修改');
    refresh();
  } }, '保存修改');
  const sign = h('button', { onclick: async () => {
    const sections = Object.fromEntries(Object.entries(areas).map(([k, a]) => [k, a.value]));
    await api('PATCH', `discharge/${record.id}`, { sections });
    record = await api('POST', `discharge/${record.id}/sign`, {});
    toast('已签署');
    refresh();
  } }, `以 ${session.user.display_name || session.user.name} 签署`);
  fill(app,
    h('h1', {}, `出院记录 · ${c.title || `病例 #${id}`}`),
    h('div', { class: 'bar' }, h('span', {}, '模型'), h('div', { style: 'width:160px' }, model), generate,
      h('a', { href: `#/cases/${id}`, class: 'button' }, '返回病例'), h('span', { class: 'grow' }), state),
    h('div', { class: 'card sections' },
      info.discharge_sections.map((s) => h('div', {}, h('label', {}, s.label), areas[s.key])),
      h('div', { class: 'actions' }, save, sign)));
  refresh();
}

/* ------------------------------------------------------------------------------------------ */
/* The adoption dashboard                                                                     */
/* ------------------------------------------------------------------------------------------ */

const pct = (x) => `${Math.round(x * 100)}%`;

async function dashboardView(app) {
  const s = await api('GET', 'stats');
  const ddx = s.per_model.filter((r) => r.task === 'differential');
  const sum = (rows, k) => rows.reduce((a, r) => a + r[k], 0);
  const done = sum(ddx, 'done'), up = sum(ddx, 'votes_up'), down = sum(ddx, 'votes_down');
  const tile = (label, value, note) => h('div', { class: 'card stat' },
    h('div', { class: 'muted' }, label), h('div', { class: 'n' }, value), h('div', { class: 'muted' }, note));
  const canvases = ['perDay', 'perModelDay', 'perModel', 'edits'].map((k) => h('canvas', { id: k }));
  fill(app,
    h('h1', {}, '使用统计'),
    h('div', { class: 'stats' },
      tile('鉴别诊断回答', sum(ddx, 'generations'), '全部记录'),
      tile('采纳率', done ? pct(sum(ddx, 'picked') / done) : '—', '被医生选中填入病历的回答'),
      tile('好评率', up + down ? pct(up / (up + down)) : '—', `有用 ${up} · 无用 ${down}`),
      tile('出院记录', `${s.discharge.signed} / ${s.discharge.drafts}`,
        `已签署 / 草稿 · 平均改动 ${pct(s.discharge.chars_changed)}`)),
    h('div', { class: 'charts' },
      h('div', { class: 'card' }, h('h2', {}, '每日使用：按功能（近30天）'), h('div', { style: 'height:240px' }, canvases[0])),
      h('div', { class: 'card' }, h('h2', {}, '每日使用：按模型（近30天）'), h('div', { style: 'height:240px' }, canvases[1])),
      h('div', { class: 'card' }, h('h2', {}, '各模型：采纳率与好评率'), h('div', { style: 'height:240px' }, canvases[2])),
      h('div', { class: 'card' }, h('h2', {}, '出院记录：医生修改程度'), h('div', { style: 'height:240px' }, canvases[3]))));
  const days = [...new Set(s.per_day.map((r) => r.day))];
  const count = (pred) => days.map((d) => s.per_day.filter((r) => r.day === d && pred(r))
    .reduce((a, r) => a + r.generations, 0));
  const byTask = (task) => count((r) => r.task === task);
  const models = [...new Set(s.per_day.map((r) => r.model))];
  const palette = ['#1f6feb', '#d97706', '#2e7d32', '#8e44ad', '#607080', '#c62828'];
  const common = { responsive: true, maintainAspectRatio: false, animation: false };
  new Chart(canvases[0], { type: 'bar', options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    data: { labels: days, datasets: [
      { label: '鉴别诊断', data: byTask('differential'), backgroundColor: '#1f6feb' },
      { label: '出院记录', data: byTask('discharge'), backgroundColor: '#2e7d32' }] } });
  new Chart(canvases[1], { type: 'bar', options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    data: { labels: days, datasets: models.map((m, i) => (
      { label: m, data: count((r) => r.model === m), backgroundColor: palette[i % palette.length] })) } });
  new Chart(canvases[2], { type: 'bar', options: { ...common, scales: { y: { beginAtZero: true, max: 100 } } },
    data: { labels: ddx.map((r) => r.model), datasets: [
      { label: '采纳率 %', data: ddx.map((r) => (r.done ? Math.round(100 * r.picked / r.done) : 0)), backgroundColor: '#1f6feb' },
      { label: '好评率 %', data: ddx.map((r) => (r.votes_up + r.votes_down ? Math.round(100 * r.votes_up / (r.votes_up + r.votes_down)) : 0)), backgroundColor: '#d97706' }] } });
  new Chart(canvases[3], { type: 'bar', options: { ...common, scales: { y: { beginAtZero: true, max: 100 } } },
    data: { labels: ['修改过的段落', '改动字数占比'], datasets: [
      { label: '%', data: [Math.round(100 * s.discharge.sections_edited), Math.round(100 * s.discharge.chars_changed)], backgroundColor: '#607080' }] } });
}

/* ------------------------------------------------------------------------------------------ */
/* Signing in, the audit trail (auditors), accounts (admins)                                   */
/* ------------------------------------------------------------------------------------------ */

function loginView(app) {
  const name = h('input', { name: 'name', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'muted', role: 'alert' });
  const form = h('form', { class: 'card login', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      session = await api('POST', 'login', { name: name.value.trim(), password: password.value });
      password.value = '';
      route();
    } catch (e) { message.textContent = e.message; }
  } },
  h('h1', {}, '登录'),
  h('label', {}, '用户名', name), h('label', {}, '密码', password),
  h('button', { class: 'primary', type: 'submit' }, '登录'), message);
  fill(app, form);
  name.focus();
}

const time = (t) => (t ? t.replace('T', ' ').slice(0, 19) : '—');

async function auditView(app) {
  const fields = ['actor', 'action', 'object', 'object_id', 'from', 'to'];
  const labels = { actor: '操作人', action: '操作（前缀）', object: '对象类型', object_id: '对象编号', from: '起（UTC）', to: '止（UTC）' };
  const inputs = Object.fromEntries(fields.map((f) => [f, h('input', { name: f, placeholder: labels[f] })]));
  const rows = h('tbody'), total = h('span', { class: 'muted' }), verdict = h('span');
  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    for (const f of fields) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
    const data = await api('GET', `audit?${q}`);
    total.textContent = `共 ${data.total} 条`;
    fill(rows, data.entries.map((e) => h('tr', {},
      h('td', {}, e.id), h('td', {}, time(e.at)), h('td', {}, e.actor), h('td', {}, e.role),
      h('td', {}, e.ip), h('td', {}, e.action), h('td', {}, `${e.object} ${e.object_id || ''}`),
      h('td', { class: 'detail' }, JSON.stringify(e.detail)))));
  }
  const verify = h('button', { onclick: async () => {
    const v = await api('GET', 'audit/verify');
    fill(verdict, v.problems.length
      ? h('span', { class: 'bad' }, `校验失败：${v.problems.map((p) => p.problem).join('；')}`)
      : h('span', { class: 'signed' }, `完整：${v.entries} 条，链头 ${v.head.slice(0, 16)}…`));
  } }, '校验哈希链');
  fill(app,
    h('h1', {}, '审计日志'),
    h('form', { class: 'bar filters', onsubmit: (ev) => { ev.preventDefault(); load(); } },
      fields.map((f) => inputs[f]), h('button', { class: 'primary', type: 'submit' }, '查询'), total),
    h('div', { class: 'bar' }, verify, verdict),
    h('table', { class: 'card audit' },
      h('thead', {}, h('tr', {}, ['#', '时间', '操作人', '角色', '地址', '操作', '对象', '详情'].map((t) => h('th', {}, t)))),
      rows));
  await load();
}

async function accountsView(app) {
  const [u, k] = await Promise.all([api('GET', 'users'), api('GET', 'keys')]);
  const table = (head, body) => h('table', { class: 'card audit' },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', {}, t)))), h('tbody', {}, body));
  fill(app,
    h('h1', {}, '账户'),
    h('p', { class: 'muted' }, '账户与密钥在服务器上用 ward user / ward apikey 管理（见 ward user --help）。'),
    h('h2', {}, '用户'),
    table(['用户名', '姓名', '角色', '状态', '最近登录'], u.users.map((x) => h('tr', {},
      h('td', {}, x.name), h('td', {}, x.display_name), h('td', {}, x.role),
      h('td', {}, x.disabled ? '已停用' : '正常'), h('td', {}, time(x.last_login))))),
    h('h2', {}, 'API 密钥'),
    table(['名称', '权限', '到期', '状态', '创建人'], k.keys.map((x) => h('tr', {},
      h('td', {}, x.name), h('td', {}, x.scopes), h('td', {}, time(x.expires_at)),
      h('td', {}, x.revoked_at ? '已吊销' : '有效'), h('td', {}, x.created_by)))));
}

/* ------------------------------------------------------------------------------------------ */
/* Routing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

// [hash pattern, view, the permission it needs]
const routes = [
  [/^#\/cases\/new$/, (m, app) => caseView(null, app), 'case:write'],
  [/^#\/cases\/(\d+)$/, (m, app) => caseView(Number(m[1]), app), 'case:read'],
  [/^#\/cases\/(\d+)\/ddx$/, (m, app) => ddxView(Number(m[1]), app), 'case:read'],
  [/^#\/cases\/(\d+)\/discharge$/, (m, app) => dischargeView(Number(m[1]), app), 'case:read'],
  [/^#\/dashboard$/, (m, app) => dashboardView(app), 'stats'],
  [/^#\/audit$/, (m, app) => auditView(app), 'audit'],
  [/^#\/accounts$/, (m, app) => accountsView(app), 'users'],
  [/^#\/cases/, (m, app) => listView(app), 'case:read'],
];

// The header: the pages this user may open, who is signed in, and signing out.
function header() {
  for (const a of document.querySelectorAll('[data-nav]')) a.hidden = !session || !can(a.dataset.perm);
  const who = document.getElementById('who');
  fill(who, session && [h('span', {}, `${session.user.display_name || session.user.name}（${session.user.role}）`),
    h('button', { class: 'small', onclick: async () => {
      await api('POST', 'logout', {}).catch(() => {});
      session = null;
      info = null;
      route();
    } }, '退出')]);
}

// Each route renders into a container of its own, shown at once; a route that another has
// followed (a quick click, a hash change) keeps writing into its container, no longer shown.
async function route() {
  const app = h('div');
  main.replaceChildren(app);
  try {
    session ??= await api('GET', 'session');
  } catch (e) {
    header();
    if (e instanceof SignedOut) loginView(app);
    else fill(app, h('div', { class: 'card' }, h('h2', {}, '出错了'), h('p', {}, e.message)));
    return;
  }
  header();
  const home = [['case:read', '#/cases'], ['stats', '#/dashboard'], ['audit', '#/audit'], ['users', '#/accounts']]
    .find(([perm]) => can(perm))?.[1] ?? '#/';
  const hash = location.hash && location.hash !== '#/' ? location.hash : home;
  for (const a of document.querySelectorAll('[data-nav]'))
    a.classList.toggle('active', hash.startsWith(`#/${a.dataset.nav}`));
  try {
    info ??= await api('GET', 'info');
    const found = routes.find(([re]) => re.test(hash));
    if (!found || !can(found[2])) {
      fill(app, h('div', { class: 'card' }, h('h2', {}, '无权访问'), h('p', {}, '您的角色不能查看此页面。')));
      return;
    }
    await found[1](found[0].exec(hash), app);
  } catch (e) {
    if (e instanceof SignedOut) { header(); loginView(app); return; }
    fill(app, h('div', { class: 'card' }, h('h2', {}, '出错了'), h('p', {}, e.message)));
  }
}

window.addEventListener('hashchange', route);
route();
