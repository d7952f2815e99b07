// The offline queue and the API client, shared by the page and the service worker.
//
// Every fix, heartbeat, sign-in, patrol start/stop, log and request is first written to
// IndexedDB ("queue" store) with its client_id (and, for fixes and heartbeats, the
// per-device seq) in the same transaction that allots them; only then is it sent. A
// flush sends the queue in order (consecutive fixes/heartbeats as one batch of <= 500),
// deletes what the server answered, and stops at the first network error or 5xx (the
// caller retries with backoff). The server is idempotent on client_id, so an item sent
// twice (e.g. the answer was lost) is stored once.
import { openDB } from './vendor/idb/index.js';

export const API = '/api/mobile/v1';
const BATCH = 500;
let dbp = null;

export function db() {
  if (!dbp) {
    dbp = openDB('gridpatrol-worker', 1, {
      upgrade(d) {
        d.createObjectStore('meta');
        d.createObjectStore('queue', { keyPath: 'n', autoIncrement: true });
        d.createObjectStore('failed', { keyPath: 'n' });
      },
    });
  }
  return dbp;
}

export async function getMeta(key) { return (await db()).get('meta', key); }
export async function setMeta(key, value) { return (await db()).put('meta', value, key); }
export async function delMeta(key) { return (await db()).delete('meta', key); }

// the phone's id: made once, kept (IndexedDB survives reloads and closed tabs)
export async function deviceUid() {
  const d = await db();
  const tx = d.transaction('meta', 'readwrite');
  let uid = await tx.store.get('device_uid');
  if (!uid) {
    uid = 'web-' + crypto.randomUUID();
    await tx.store.put(uid, 'device_uid');
  }
  await tx.done;
  return uid;
}

// Queue an item. Fixes and heartbeats ("pos") take the next per-device seq (the server
// tells a lost upload from silence by gaps in it); other items their own counter.
export async function enqueue(type, build) {
  const d = await db();
  const tx = d.transaction(['meta', 'queue'], 'readwrite');
  const meta = tx.objectStore('meta');
  const uid = await meta.get('device_uid');
  const counter = type === 'pos' ? 'seq' : 'n_other';
  const n = ((await meta.get(counter)) ?? -1) + 1;
  await meta.put(n, counter);
  const short = uid.slice(4, 12);
  const client_id = type === 'pos' ? `${short}-p${n}` : `${short}-${type[0]}${n}`;
  const rec = { type, client_id, created: Date.now(), body: build({ client_id, seq: n }) };
  rec.n = await tx.objectStore('queue').add(rec);
  await tx.done;
  return rec;
}

export async function pending() { return (await db()).count('queue'); }
export async function failedItems() { return (await db()).getAll('failed'); }

export class Offline extends Error {}
export class LoginNeeded extends Error {}

// ------------------------------------------------------------------ API with token refresh
let refreshing = null;

async function refresh() {
  const tokens = await getMeta('tokens');
  if (!tokens) throw new LoginNeeded('no tokens');
  let r;
  try {
    r = await fetch(API + '/auth/refresh', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    });
  } catch (e) { throw new Offline(String(e)); }
  if (r.status >= 500) throw new Offline('server ' + r.status);
  if (!r.ok) { await delMeta('tokens'); throw new LoginNeeded('refresh refused'); }
  await setMeta('tokens', await r.json());
}

// fetch with the access token; one refresh on 401; network errors and 5xx/429 -> Offline
export async function api(method, path, body, { form = false } = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const tokens = await getMeta('tokens');
    if (!tokens) throw new LoginNeeded('not logged in');
    const headers = { Authorization: 'Bearer ' + tokens.access_token };
    let payload;
    if (body !== undefined) {
      if (form) payload = body;
      else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    }
    let r;
    try {
      r = await fetch(API + path, { method, headers, body: payload });
    } catch (e) { throw new Offline(String(e)); }
    if (r.status === 401 && attempt === 0) {
      if (!refreshing) refreshing = refresh().finally(() => { refreshing = null; });
      await refreshing;
      continue;
    }
    if (r.status === 401) { await delMeta('tokens'); throw new LoginNeeded('token refused'); }
    if (r.status >= 500 || r.status === 429) throw new Offline('server ' + r.status);
    return r;
  }
  throw new LoginNeeded('token refused');
}

// ------------------------------------------------------------------ flush
let flushing = null;

export function flush() {
  if (!flushing) flushing = doFlush().finally(() => { flushing = null; });
  return flushing;
}

async function done(items, answers) {
  const d = await db();
  const tx = d.transaction(['queue', 'failed', 'meta'], 'readwrite');
  for (const [i, it] of items.entries()) {
    const a = answers ? answers[i] : null;
    await tx.objectStore('queue').delete(it.n);
    if (a && a.failed) await tx.objectStore('failed').put({ ...it, error: a.failed });
    if (a && a.result !== undefined) await tx.objectStore('meta').put(a.result, 'result:' + it.client_id);
  }
  await tx.done;
}

async function errorText(r) {
  try { const j = await r.json(); return (j.error && (j.error.message || j.error.code)) || String(r.status); }
  catch { return String(r.status); }
}

async function sendOne(it) {
  const b = it.body;
  if (it.type === 'signin') {
    const r = await api('POST', '/signins', b);
    return r.ok ? { result: await r.json() } : { failed: await errorText(r) };
  }
  if (it.type === 'patrol_start') {
    const r = await api('POST', '/patrols', b);
    if (!r.ok) return { failed: await errorText(r) };
    const p = await r.json();
    await setMeta('patrol:' + b.client_id, p.id);
    return { result: p };
  }
  if (it.type === 'patrol_stop') {
    const id = await getMeta('patrol:' + b.start_client_id);
    if (!id) return { failed: '巡查开始记录未上传' };
    const r = await api('POST', `/patrols/${encodeURIComponent(id)}/stop`, { ended_at: b.ended_at });
    return r.ok ? { result: await r.json() } : { failed: await errorText(r) };
  }
  if (it.type === 'log') {
    const f = new FormData();
    f.append('text', b.text);
    f.append('client_id', it.client_id);
    if (b.patrol_client_id) {
      const id = await getMeta('patrol:' + b.patrol_client_id);
      if (id) f.append('patrol_id', id);
    }
    for (const [i, p] of (b.photos || []).entries()) f.append('photos', p, `photo${i}.jpg`);
    const r = await api('POST', '/patrol-logs', f, { form: true });
    return r.ok ? { result: await r.json() } : { failed: await errorText(r) };
  }
  if (it.type === 'request') {
    const r = await api('POST', '/requests', b);
    return r.ok ? { result: await r.json() } : { failed: await errorText(r) };
  }
  return { failed: 'unknown item ' + it.type };
}

// Send everything queued, in order; resolves to the number of items sent.
async function doFlush() {
  let sent = 0;
  for (;;) {
    const items = await (await db()).getAll('queue', null, BATCH);
    if (!items.length) return sent;
    if (items[0].type === 'pos') {
      const batch = [];
      for (const it of items) { if (it.type !== 'pos') break; batch.push(it); }
      const r = await api('POST', '/positions', { items: batch.map((it) => it.body) });
      if (!r.ok) {  // the whole batch refused (a 4xx): keep it aside, never loop on it
        const why = await errorText(r);
        await done(batch, batch.map(() => ({ failed: why })));
      } else {
        const res = await r.json();
        await done(batch, res.items.map((a) => (a.status === 'rejected' ? { failed: `${a.reason} ${a.field || ''}` } : {})));
      }
      sent += batch.length;
    } else {
      const it = items[0];
      const a = await sendOne(it);
      await done([it], [a]);
      sent += 1;
    }
  }
}
