// The worker web app: screens, geolocation, the patrol, and the flush schedule.
// Everything the worker does goes into the IndexedDB queue first (queue.js), then is sent.
import {
  API, LoginNeeded, Offline, delMeta, deviceUid, enqueue, failedItems, flush, getMeta,
  pending, setMeta, api,
} from './queue.js';
import { inside } from './geo.js';

const $ = (id) => document.getElementById(id);
const SCREENS = ['login', 'activate', 'password', 'today', 'signin', 'patrol', 'log', 'request', 'score', 'data'];
const KIND_ZH = { sick_leave: '病假', personal_leave: '事假', field_duty: '外勤', special: '特殊情况' };
const STATUS_ZH = { requested: '待审批', approved: '已批准', denied: '已驳回' };
const PATROL_ZH = { ok: '达标', short: '不足', missing: '未巡查', exempt: '免除', not_required: '不要求', pending: '进行中' };
const WINDOW_ZH = { am: '上午', pm: '下午' };
const FLAG_ZH = {
  phone_off: '手机失联', offpost: '脱岗', crosspost: '串岗', suspect_fix: '可疑定位', rejected_fixes: '无效定位',
};
// GEO-PHONEOFF causes: the word catalogue's (/app/words.json, cached by the service worker)
let CAUSE_ZH = {};
const hm = (t) => (t ? new Date(t).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit' }) : '');
const SIGNIN_ZH = {
  ok: '签到有效', late: '签到不计：已过签到截止时间', outside: '签到不计：不在村网格办签到范围内',
  not_required: '今天不需要签到', rejected: '签到不计：定位被判为模拟位置',
};
const MAX_PHOTOS = 9;
const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_MS = 60000;

const iso = (ms) => new Date(ms).toISOString();
const hhmmss = (s) => [s / 3600, (s / 60) % 60, s % 60].map((v) => String(Math.floor(v)).padStart(2, '0')).join(':');

// ------------------------------------------------------------------ screens
function show(name) {
  for (const s of SCREENS) $('s-' + s).hidden = s !== name;
  const authed = !['login', 'activate', 'password'].includes(name);
  $('tabs').hidden = !authed;
  for (const a of $('tabs').querySelectorAll('a')) a.classList.toggle('on', a.getAttribute('href') === '#' + name);
  if (name === 'today') loadToday();
  if (name === 'request') loadRequests();
  if (name === 'score') loadScore();
  if (name === 'data') loadFailed();
}

async function route() {
  const tokens = await getMeta('tokens');
  if (!tokens) return show(location.hash === '#activate' ? 'activate' : 'login');
  if (await getMeta('must_change_password')) return show('password');
  const name = (location.hash || '#today').slice(1);
  show(SCREENS.includes(name) && !['login', 'activate', 'password'].includes(name) ? name : 'today');
}

// ------------------------------------------------------------------ pending count + flush
let backoffMs = 0;
let nextTry = 0;
let lastFlush = 0;

async function updatePending() {
  const n = await pending();
  $('pending').textContent = n ? `待上传 ${n} 条` : '';
  $('pending').dataset.count = String(n);
}

async function tryFlush(force = false) {
  if (!force && Date.now() < nextTry) return;
  lastFlush = Date.now();
  try {
    await flush();
    backoffMs = 0;
    nextTry = 0;
  } catch (e) {
    if (e instanceof LoginNeeded) {
      show('login');
    } else {  // offline or the server busy: retry later, doubling up to 5 minutes, jittered
      backoffMs = Math.min(backoffMs ? backoffMs * 2 : 5000, 300000);
      nextTry = Date.now() + backoffMs * (0.5 + Math.random() * 0.5);
    }
  } finally {
    await updatePending();
  }
}

async function queued(type, build) {
  const rec = await enqueue(type, build);
  await updatePending();
  try {  // Background Sync where the browser has it (Chromium): sends even after the tab closes
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register('flush');
  } catch { /* not offered: the timers and events below do it */ }
  return rec;
}

// ------------------------------------------------------------------ login
let pendingRetry = null;
let justActivated = false;

async function loggedIn(tokens) {
  clearTimeout(pendingRetry);
  await setMeta('tokens', tokens);
  if (tokens.must_change_password || tokens.password_change_required) {
    await setMeta('must_change_password', true);
  }
  await loadMe();
  location.hash = '#today';
  await route();
  tryFlush(true);
}

const waitText = (s) => (s >= 120 ? `${Math.ceil(s / 60)} 分钟` : `${s} 秒`);

async function login(ev) {
  ev?.preventDefault();
  const msg = $('login-msg');
  msg.className = 'msg';
  msg.textContent = '正在登录…';
  const body = {
    phone: $('phone').value.trim(), password: $('password').value,
    device_uid: await deviceUid(), device_model: navigator.userAgent.slice(0, 64),
  };
  let r;
  try {
    r = await fetch(API + '/auth/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
  } catch {
    msg.className = 'msg err';
    msg.textContent = '没有网络，请联网后再登录';
    return;
  }
  if (r.ok) {
    msg.textContent = '';
    justActivated = false;
    await loggedIn(await r.json());
    return;
  }
  const err = (await r.json().catch(() => ({}))).error || {};
  msg.className = 'msg err';
  if (err.code === 'device_pending') {
    msg.className = 'msg wait';  // not an error: the office has yet to approve this phone
    msg.textContent = (justActivated ? '账号已激活。' : '')
      + '等待村网格办批准：这部手机还没有被批准使用您的账号。请联系村网格办，批准后会自动登录。';
    clearTimeout(pendingRetry);
    pendingRetry = setTimeout(() => { if (!$('s-login').hidden) login(); }, 5000);
  } else if (err.code === 'device_revoked') {
    msg.textContent = '这部手机的使用权限已被村网格办撤销。';
  } else if (err.code === 'device_other_worker') {
    msg.textContent = '这部手机已登记给其他网格员。';
  } else if (err.code === 'password_change_required' || err.code === 'activation_required') {
    msg.textContent = '首次登录，请先设置新密码。';
  } else if (r.status === 429) {
    msg.textContent = '尝试次数过多，请稍后再试。';
  } else if (r.status >= 500) {
    msg.textContent = '服务器暂时不可用，请稍后再试。';
  } else if (r.status === 422) {
    msg.textContent = '请检查手机号和密码的格式。';
  } else {
    msg.textContent = '手机号或密码不正确。';
  }
}

// ------------------------------------------------------------------ activation
// POST /auth/activate: phone + the office's one-time code + the worker's own new password.
// The codes of the answers are the contract (docs/mobile-api.md); the words are the app's.
const ACTIVATE_ZH = {
  activation_invalid: '激活码不正确，或已作废（村网格办发了新码，或输错太多次）。请核对手机号和激活码；仍不行请找村网格办重新发激活码。',
  activation_used: '这个激活码已经用过了。请返回登录，用您设置的密码登录；忘记密码请找村网格办重置。',
  activation_expired: '激活码已过期。请找村网格办重新发激活码。',
  device_other_worker: '这部手机已登记给其他网格员，不能用来激活您的账号。',
  device_revoked: '这部手机的使用权限已被村网格办撤销。',
};
const ACTIVATE_FIELD = {
  phone: ['act-phone', '手机号格式不正确：只填数字，5 到 20 位。'],
  code: ['act-code', '激活码格式不正确：请照纸条上的 12 位字母和数字填写。'],
  new_password: ['act-password', '新密码长度应为 8 到 256 位。'],
};

async function activate(ev) {
  ev.preventDefault();
  const msg = $('activate-msg');
  const fail = (text, field) => {
    msg.className = 'msg err';
    msg.textContent = text;
    if (field) $(field).focus();
  };
  const phone = $('act-phone').value.trim();
  const code = $('act-code').value.trim();
  const password = $('act-password').value;
  if (!/^\+?[0-9]{5,20}$/.test(phone)) return fail(ACTIVATE_FIELD.phone[1], 'act-phone');
  if (code.replace(/[-\s]/g, '').length < 4) return fail('请填写激活码。', 'act-code');
  if (password.length < 8) return fail(ACTIVATE_FIELD.new_password[1], 'act-password');
  if (password !== $('act-password2').value) return fail('两次输入的新密码不一样，请重新输入。', 'act-password2');
  msg.className = 'msg';
  msg.textContent = '正在激活…';
  $('activate-btn').disabled = true;
  let r;
  try {
    r = await fetch(API + '/auth/activate', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ phone, code, new_password: password, device_uid: await deviceUid(),
        device_model: navigator.userAgent.slice(0, 64) }),
    });
  } catch {
    return fail('没有网络，请联网后再激活。');
  } finally {
    $('activate-btn').disabled = false;
  }
  if (r.ok) {
    const done = await r.json();
    $('activate-form').reset();
    msg.textContent = '';
    if (done.tokens) return loggedIn(done.tokens);  // a phone the office had approved already
    // a new phone waits for the village office: log in with the new password, which says
    // so and retries until the office approves it
    justActivated = true;
    $('phone').value = phone;
    $('password').value = password;
    location.hash = '';
    show('login');
    return login();
  }
  const err = (await r.json().catch(() => ({}))).error || {};
  if (r.status === 429) {
    const s = parseInt(r.headers.get('Retry-After') || '', 10);
    return fail(`尝试次数过多，已暂停激活。请${Number.isFinite(s) && s > 0 ? ' ' + waitText(s) + '后' : '稍后'}再试。`);
  }
  if (ACTIVATE_ZH[err.code]) return fail(ACTIVATE_ZH[err.code], err.code.startsWith('activation_') ? 'act-code' : null);
  if (r.status === 422 && ACTIVATE_FIELD[err.field]) return fail(ACTIVATE_FIELD[err.field][1], ACTIVATE_FIELD[err.field][0]);
  if (r.status >= 500) return fail('服务器暂时不可用，请稍后再试。');
  return fail('激活没有成功，请核对后再试。');
}

async function loadMe() {
  try {
    const r = await api('GET', '/me');
    if (r.ok) await setMeta('me', await r.json());
  } catch { /* offline: keep the last one */ }
  const me = await getMeta('me');
  $('who').textContent = me ? `${me.name || me.worker_id}` : '';
}

async function changePassword(ev) {
  ev.preventDefault();
  const tokens = await getMeta('tokens');
  let r = null;
  try {  // not through api(): a 401 here means a wrong current password, not a dead token
    r = await fetch(API + '/auth/password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + (tokens && tokens.access_token) },
      body: JSON.stringify({ old_password: $('pw-old').value, new_password: $('pw-new').value }),
    });
  } catch { /* offline */ }
  if (r && r.ok) {  // every login ends: log in again with the new password
    await delMeta('must_change_password');
    await delMeta('tokens');
    show('login');
    $('login-msg').textContent = '密码已更新，请用新密码登录。';
  } else {
    $('password-msg').className = 'msg err';
    $('password-msg').textContent = r ? '未能保存新密码，请检查当前密码。' : '没有网络，请联网后再试。';
  }
}

// ------------------------------------------------------------------ today
let map = null;
let mapLayers = [];

async function fetchJson(path, cacheKey) {
  try {
    const r = await api('GET', path);
    if (r.ok) {
      const j = await r.json();
      if (cacheKey) await setMeta(cacheKey, j);
      return j;
    }
  } catch (e) {
    if (e instanceof LoginNeeded) { show('login'); return null; }
  }
  return cacheKey ? getMeta(cacheKey) : null;  // offline: the last answer
}

function drawMap(a) {
  if (!window.L || !a || !a.grid) return;
  if (!map) {
    map = L.map('map', { zoomControl: true, attributionControl: false });
  }
  for (const l of mapLayers) l.remove();
  mapLayers = [];
  // no base tiles: the server has none to offer offline; the grid and the office are the map.
  // The view is set before any layer is added (Leaflet projects layers with the map's zoom).
  const grid = L.geoJSON(a.grid, { style: { color: '#2563eb', weight: 2, fillOpacity: 0.12 } });
  map.invalidateSize();
  map.fitBounds(grid.getBounds().pad(0.15));
  mapLayers.push(grid.addTo(map));
  if (a.office) {
    mapLayers.push(L.circle([a.office.lat, a.office.lon], { radius: a.office.radius_m, color: '#dc2626', weight: 2, fillOpacity: 0.1 }).addTo(map));
    mapLayers.push(L.circleMarker([a.office.lat, a.office.lon], { radius: 4, color: '#dc2626' }).addTo(map));
  }
}

let todayLoading = null;

function loadToday() {  // one at a time: a hash change and a login may both ask
  if (!todayLoading) todayLoading = loadTodayNow().finally(() => { todayLoading = null; });
  return todayLoading;
}

async function loadTodayNow() {
  const a = await fetchJson('/me/assignment?datum=wgs84', 'assignment');
  const f = $('today-facts');
  f.innerHTML = '';
  const add = (k, v) => { const dt = document.createElement('dt'); dt.textContent = k; const dd = document.createElement('dd'); dd.textContent = v; f.append(dt, dd); };
  if (a) {
    add('日期', a.date);
    add('网格', a.grid_id || '未分配');
    add('巡查时段', (a.patrol_windows || []).map((w) => `${WINDOW_ZH[w.name] || w.name} ${w.start}–${w.end}`).join('，'));
    add('每段要求', `网格内 ${Math.round((a.required_patrol_s || 0) / 60)} 分钟`);
    add('工作时间', (a.duty_windows || []).map((w) => `${w.start}–${w.end}`).join('，'));
    add('签到', a.signin_required ? `需要${a.signin_deadline ? '（' + a.signin_deadline + ' 前）' : ''}` : '不需要');
    add('签到范围', a.office ? `村网格办 ${Math.round(a.office.radius_m)} 米内` : '—');
    const ul = $('exemptions');
    ul.innerHTML = '';
    for (const e of a.exemptions || []) {
      const li = document.createElement('li');
      li.textContent = `${KIND_ZH[e.kind] || e.kind} ${new Date(e.start).toLocaleString('zh-CN')} – ${new Date(e.end).toLocaleString('zh-CN')}`;
      ul.append(li);
    }
    if (!ul.children.length) ul.innerHTML = '<li class="muted">无</li>';
    drawMap(a);
  } else {
    add('状态', '暂无数据（离线）');
  }
  const day = await fetchJson('/me/day', 'my_day');
  const tb = $('progress').querySelector('tbody');
  tb.innerHTML = '';
  for (const p of (day && day.patrols) || []) {
    const tr = document.createElement('tr');
    tr.dataset.window = p.window;
    tr.dataset.inGridS = String(p.in_grid_s);
    for (const v of [WINDOW_ZH[p.window] || p.window, `${p.in_grid_min} 分钟`, `${Math.round(p.required_s / 60)} 分钟`, PATROL_ZH[p.status] || p.status]) {
      const td = document.createElement('td'); td.textContent = v; tr.append(td);
    }
    tb.append(tr);
  }
}

// ------------------------------------------------------------------ geolocation
function freshFix() {
  return new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, reject,
    { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 }));
}

function fixBody(pos, { client_id, seq }) {
  const c = pos.coords;
  return {
    client_id, seq, kind: 'fix', recorded_at: iso(pos.timestamp || Date.now()),
    lon: c.longitude, lat: c.latitude, datum: 'wgs84',  // the browser gives WGS-84
    accuracy_m: c.accuracy ?? null, speed_mps: c.speed ?? null, mock: false,
  };
}

// ------------------------------------------------------------------ sign-in
async function signin() {
  const out = $('signin-result');
  out.className = 'result wait';
  out.textContent = '正在定位…';
  $('signin-btn').disabled = true;
  try {
    let pos;
    try { pos = await freshFix(); } catch (e) {
      out.className = 'result err';
      out.textContent = '无法定位：请允许本网页使用位置信息，并打开手机定位。';
      return;
    }
    const f = fixBody(pos, { client_id: '', seq: 0 });
    const fix = { lon: f.lon, lat: f.lat, datum: f.datum, accuracy_m: f.accuracy_m, recorded_at: f.recorded_at, mock: false };
    const rec = await queued('signin', ({ client_id }) => ({ client_id, fix }));
    out.textContent = '正在上传…';
    await tryFlush(true);
    const res = await getMeta('result:' + rec.client_id);
    if (res) {
      out.className = 'result ' + (res.counts ? 'ok' : 'no');
      let text = SIGNIN_ZH[res.status] || res.status;
      if (res.status === 'outside' && res.distance_m != null) text += `（距村网格办 ${Math.round(res.distance_m)} 米，范围 ${Math.round(res.radius_m)} 米）`;
      if (res.counts && res.distance_m != null) text += `（距村网格办 ${Math.round(res.distance_m)} 米）`;
      out.textContent = text;
      out.dataset.counts = String(res.counts);
    } else {
      out.className = 'result wait';
      out.textContent = '签到已保存在手机上，联网后自动上传，届时显示是否有效。';
    }
  } finally {
    $('signin-btn').disabled = false;
  }
}

// ------------------------------------------------------------------ patrol
let watchId = null;
let wakeLock = null;
let heartbeatTimer = null;
let tickTimer = null;

async function keepAwake() {
  if (!('wakeLock' in navigator) || document.visibilityState !== 'visible') {
    $('patrol-wakelock').textContent = 'wakeLock' in navigator ? '页面隐藏时无效' : '本浏览器不支持';
    return;
  }
  try {
    wakeLock = await navigator.wakeLock.request('screen');
    $('patrol-wakelock').textContent = '已开启';
    wakeLock.addEventListener('release', () => { $('patrol-wakelock').textContent = '已关闭'; });
  } catch {
    $('patrol-wakelock').textContent = '未能开启';
  }
}

async function heartbeat(appState) {
  let battery = null;
  try { battery = await navigator.getBattery?.(); } catch { /* not offered */ }
  await queued('pos', ({ client_id, seq }) => ({
    client_id, seq, kind: 'heartbeat', recorded_at: iso(Date.now()),
    battery_pct: battery ? Math.round(battery.level * 100) : null,
    charging: battery ? battery.charging : null,
    network: navigator.onLine ? null : 'none',
    app_state: appState,
  }));
}

async function onFix(pos) {
  const p = await getMeta('patrol');
  if (!p) return;
  await queued('pos', (ids) => fixBody(pos, ids));
  const a = await getMeta('assignment');
  const c = pos.coords;
  const now = pos.timestamp || Date.now();
  const here = !!(a && inside(a.grid, c.longitude, c.latitude));
  // screen estimate: time between consecutive fixes both inside the grid, gaps <= 2 min
  if (p.last && p.last.inside && here && now - p.last.t <= 120000) p.ingrid_ms += now - p.last.t;
  p.last = { t: now, inside: here };
  p.fixes += 1;
  p.acc = c.accuracy;
  await setMeta('patrol', p);
  renderPatrol(p);
  if (Date.now() - lastFlush > 10000) tryFlush();
}

function renderPatrol(p) {
  $('patrol-start').hidden = !!p;
  $('patrol-stop').hidden = !p;
  if (!p) return;
  $('patrol-timer').textContent = hhmmss((Date.now() - p.started) / 1000);
  $('patrol-ingrid').textContent = `${Math.floor(p.ingrid_ms / 60000)} 分钟`;
  $('patrol-fixes').textContent = `${p.fixes} 个`;
  $('patrol-fixes').dataset.count = String(p.fixes);
  $('patrol-acc').textContent = p.acc != null ? `${Math.round(p.acc)} 米` : '—';
}

function watch() {
  if (watchId !== null) return;
  watchId = navigator.geolocation.watchPosition(onFix, () => {}, { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 });
  heartbeatTimer = setInterval(() => heartbeat(document.visibilityState === 'visible' ? 'foreground' : 'background'), HEARTBEAT_MS);
  tickTimer = setInterval(async () => renderPatrol(await getMeta('patrol')), 1000);
  keepAwake();
}

async function startPatrol() {
  if (await getMeta('patrol')) return;
  if (!(await getMeta('assignment'))) await fetchJson('/me/assignment?datum=wgs84', 'assignment');
  const rec = await queued('patrol_start', ({ client_id }) => ({ client_id, started_at: iso(Date.now()) }));
  const p = { client_id: rec.client_id, started: Date.now(), fixes: 0, ingrid_ms: 0, last: null, acc: null };
  await setMeta('patrol', p);
  await setMeta('last_patrol', rec.client_id);
  renderPatrol(p);
  watch();
  await heartbeat('foreground');
  tryFlush(true);
}

async function stopPatrol() {
  const p = await getMeta('patrol');
  if (!p) return;
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  clearInterval(heartbeatTimer);
  clearInterval(tickTimer);
  await wakeLock?.release().catch(() => {});
  wakeLock = null;
  await queued('patrol_stop', () => ({ start_client_id: p.client_id, ended_at: iso(Date.now()) }));
  await delMeta('patrol');
  renderPatrol(null);
  tryFlush(true);
}

// ------------------------------------------------------------------ log
function checkPhotos() {
  const files = [...$('log-photos').files];
  const msg = $('log-photo-msg');
  msg.className = 'msg';
  if (files.length > MAX_PHOTOS) { msg.className = 'msg err'; msg.textContent = `最多 ${MAX_PHOTOS} 张照片`; return null; }
  const big = files.filter((f) => f.size > MAX_PHOTO_BYTES);
  if (big.length) { msg.className = 'msg err'; msg.textContent = `${big.length} 张照片超过 8 MB，请重新拍摄或压缩`; return null; }
  msg.textContent = files.length ? `已选 ${files.length} 张` : '';
  return files;
}

async function submitLog(ev) {
  ev.preventDefault();
  const files = checkPhotos();
  if (files === null) return;
  const text = $('log-text').value.trim();
  const patrol = (await getMeta('patrol'))?.client_id || (await getMeta('last_patrol')) || null;
  // File objects are stored in IndexedDB as they are: the photos wait there while offline
  await queued('log', () => ({ text, patrol_client_id: patrol, photos: files }));
  $('log-form').reset();
  $('log-photo-msg').textContent = '';
  $('log-msg').textContent = '日志已保存，正在上传…';
  await tryFlush(true);
  $('log-msg').textContent = Number($('pending').dataset.count || 0) ? '日志已保存，联网后自动上传。' : '日志已上传。';
}

// ------------------------------------------------------------------ requests
async function submitRequest(ev) {
  ev.preventDefault();
  const kind = $('req-kind').value;
  const start = new Date($('req-start').value);
  const end = new Date($('req-end').value);
  const msg = $('request-msg');
  if (!(end > start)) { msg.className = 'msg err'; msg.textContent = '结束时间必须晚于开始时间'; return; }
  const body = { kind, start: start.toISOString(), end: end.toISOString(), reason: $('req-reason').value.trim() };
  if (kind === 'field_duty') {
    const lon = parseFloat($('req-lon').value);
    const lat = parseFloat($('req-lat').value);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) { msg.className = 'msg err'; msg.textContent = '外勤请填写地点'; return; }
    body.place = { lon, lat, datum: 'wgs84', radius_m: parseFloat($('req-radius').value) || 300 };
  }
  await queued('request', ({ client_id }) => ({ client_id, ...body }));
  $('request-form').reset();
  msg.className = 'msg';
  msg.textContent = '申请已保存，正在上传…';
  await tryFlush(true);
  msg.textContent = Number($('pending').dataset.count || 0) ? '申请已保存，联网后自动上传。' : '申请已提交，等待村网格办审批。';
  loadRequests();
}

async function loadRequests() {
  const j = await fetchJson('/requests?limit=50', 'requests');
  const ul = $('request-list');
  ul.innerHTML = '';
  for (const e of (j && j.items) || []) {
    const li = document.createElement('li');
    li.textContent = `${KIND_ZH[e.kind] || e.kind}：${new Date(e.start).toLocaleString('zh-CN')} – ${new Date(e.end).toLocaleString('zh-CN')}，${STATUS_ZH[e.status] || e.status}${e.reason ? '（' + e.reason + '）' : ''}`;
    ul.append(li);
  }
  if (!ul.children.length) ul.innerHTML = '<li class="muted">暂无申请</li>';
}

// ------------------------------------------------------------------ score, data
async function loadScore() {
  const day = await fetchJson('/me/day', 'my_day');
  $('score-month').textContent = day ? `${day.month} 已扣 ${Math.abs(day.month_points)} 分` : '暂无数据（离线）';
  const trail = $('score-trail');
  trail.innerHTML = '';
  for (const d of (day && day.month_deductions) || []) {
    const li = document.createElement('li');
    li.textContent = `${d.date || ''} ${d.rule || ''} ${d.points ?? ''} 分 ${d.reason || ''}`;
    trail.append(li);
  }
  if (!trail.children.length) trail.innerHTML = '<li class="muted">本月没有扣分</li>';
  const flags = $('score-flags');
  flags.innerHTML = '';
  for (const f of (day && day.flags) || []) {
    const li = document.createElement('li');
    const span = f.start ? ` ${hm(f.start)}${f.end ? '–' + hm(f.end) : ''}` : '';
    const detail = f.kind === 'phone_off' ? CAUSE_ZH[f.detail] || f.detail : f.detail || '';
    li.textContent = `${f.date}${span} ${FLAG_ZH[f.kind] || f.kind}：${detail}（${f.rule}）`;
    flags.append(li);
  }
  if (!flags.children.length) flags.innerHTML = '<li class="muted">无</li>';
}

async function exportData() {
  const msg = $('export-msg');
  msg.textContent = '正在准备…';
  try {
    const r = await api('GET', '/me/export');
    if (!r.ok) throw new Error(String(r.status));
    const blob = await r.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `我的数据-${new Date().toISOString().slice(0, 10)}.json`;
    a.textContent = '保存文件';
    a.id = 'export-link';
    msg.textContent = '';
    msg.append(a);
    a.click();
  } catch (e) {
    msg.textContent = e instanceof Offline ? '没有网络，请联网后再下载' : '下载失败';
  }
}

async function loadFailed() {
  const ul = $('failed-list');
  ul.innerHTML = '';
  for (const f of await failedItems()) {
    const li = document.createElement('li');
    li.textContent = `${new Date(f.created).toLocaleString('zh-CN')} ${f.type}：${f.error}`;
    ul.append(li);
  }
  if (!ul.children.length) ul.innerHTML = '<li class="muted">无</li>';
}

async function logout() {
  if (await getMeta('patrol')) await stopPatrol();
  await tryFlush(true);
  try { await api('POST', '/auth/logout'); } catch { /* the token dies with its session anyway */ }
  await delMeta('tokens');
  await delMeta('me');  // the next person to log in on this phone sees no one's name
  $('who').textContent = '';
  show('login');
}

// ------------------------------------------------------------------ start
async function loadWords() {
  try {
    const r = await fetch('/app/words.json');
    if (r.ok) CAUSE_ZH = (await r.json()).cause || {};
  } catch { /* offline before the first install: the codes are shown */ }
}

async function main() {
  $('device-uid').textContent = await deviceUid();
  loadWords();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/', type: 'module' }).catch(() => {});
  }
  $('login-form').addEventListener('submit', login);
  $('activate-form').addEventListener('submit', activate);
  $('to-activate').addEventListener('click', () => {
    $('act-phone').value ||= $('phone').value.trim();
    location.hash = '#activate';
  });
  $('to-login').addEventListener('click', () => { location.hash = ''; show('login'); });
  $('password-form').addEventListener('submit', changePassword);
  $('signin-btn').addEventListener('click', signin);
  $('patrol-start').addEventListener('click', startPatrol);
  $('patrol-stop').addEventListener('click', stopPatrol);
  $('log-photos').addEventListener('change', checkPhotos);
  $('log-form').addEventListener('submit', submitLog);
  $('request-form').addEventListener('submit', submitRequest);
  $('req-kind').addEventListener('change', () => { $('req-place').hidden = $('req-kind').value !== 'field_duty'; });
  $('req-here').addEventListener('click', async () => {
    try { const p = await freshFix(); $('req-lon').value = p.coords.longitude.toFixed(6); $('req-lat').value = p.coords.latitude.toFixed(6); } catch { /* no fix */ }
  });
  $('export-btn').addEventListener('click', exportData);
  $('logout-btn').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => tryFlush(true));
  document.addEventListener('visibilitychange', async () => {
    const visible = document.visibilityState === 'visible';
    if (await getMeta('patrol')) {
      // the office sees why fixes stop: the page was hidden, not the phone switched off
      await heartbeat(visible ? 'foreground' : 'background');
      if (visible) keepAwake();
    }
    tryFlush(true);
  });
  setInterval(() => tryFlush(), 5000);
  const p = await getMeta('patrol');
  renderPatrol(p);
  if (p) watch();  // a patrol survives a reload
  await updatePending();
  if (await getMeta('tokens')) loadMe();
  await route();
  tryFlush(true);
  document.body.dataset.ready = '1';
}

main();
