// IPC isolation probe. It runs where Jitsi's code runs (appended to external_api.js, so inside the
// embedding page, and in the meeting page inside the iframe) and tries every way a Tauri app's IPC
// could be reached, aiming at the app's `logout` command. It only reports what each attempt did;
// the Rust tests decide from side effects (was the user logged out?) whether isolation held.

const TIMEOUT_MS = 5000;

function describe(value) {
    try {
        const text = typeof value === 'string' ? value : JSON.stringify(value);

        return String(text).slice(0, 200);
    } catch (e) {
        return String(value).slice(0, 200);
    }
}

function withTimeout(promise) {
    return Promise.race([
        promise,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout after ${TIMEOUT_MS} ms`)), TIMEOUT_MS))
    ]);
}

// `get` returns the invoke target or undefined; reading it may itself throw (cross-origin).
async function tryInvoke(name, get) {
    let target;

    try {
        target = get();
    } catch (e) {
        return { name, outcome: 'threw', detail: describe(`${e && e.name}: ${e && e.message}`) };
    }
    if (typeof target !== 'function') {
        return { name, outcome: 'absent', detail: describe(typeof target) };
    }
    try {
        const result = await withTimeout(Promise.resolve(target('logout')));

        return { name, outcome: 'resolved', detail: describe(result === undefined ? 'undefined' : result) };
    } catch (e) {
        return { name, outcome: 'threw', detail: describe(e && e.message ? e.message : e) };
    }
}

async function tryFetch(name, url, init) {
    try {
        const response = await withTimeout(fetch(url, init));
        let body = '';

        try {
            body = await withTimeout(response.text());
        } catch (e) {
            body = `(body unreadable: ${e && e.message})`;
        }

        return { name, outcome: 'resolved', detail: describe(`${response.status} ${body.slice(0, 200)}`) };
    } catch (e) {
        return { name, outcome: 'threw', detail: describe(`${e && e.name}: ${e && e.message}`) };
    }
}

const ipcInit = {
    method: 'POST',
    body: '{}',
    headers: { 'Content-Type': 'application/json', 'Tauri-Callback': '1', 'Tauri-Error': '2' }
};

function internalsInvoke(w) {
    const internals = w.__TAURI_INTERNALS__;

    return internals && typeof internals.invoke === 'function' ? internals.invoke.bind(internals) : internals;
}

function tauriGlobalInvoke(w) {
    const tauri = w.__TAURI__;

    if (!tauri) {
        return undefined;
    }
    const core = tauri.core || tauri.tauri || tauri;

    return typeof core.invoke === 'function' ? core.invoke.bind(core) : undefined;
}

// An embedding page served from loopback (the Consult call page) has a WebSocket back to the app;
// try it without the page's key, and try to find that key in the URL.
function tryLoopbackChannel() {
    const name = 'websocket to the embedding page\'s /call/ws without its key';

    if (location.protocol !== 'http:') {
        return Promise.resolve({ name, outcome: 'absent', detail: location.protocol });
    }

    return new Promise(resolve => {
        let socket;

        try {
            socket = new WebSocket(`ws://${location.host}/call/ws`);
        } catch (e) {
            resolve({ name, outcome: 'threw', detail: describe(e && e.message) });

            return;
        }
        const timer = setTimeout(() => {
            resolve({ name, outcome: 'resolved', detail: 'stayed open after a guessed key' });
            socket.close();
        }, 3000);

        socket.onopen = () => {
            socket.send(JSON.stringify({ kind: 'hello', key: 'guessed-key' }));
            socket.send(JSON.stringify({ kind: 'control', control: { control: 'hangUp' } }));
        };
        socket.onclose = event => {
            clearTimeout(timer);
            resolve({ name, outcome: 'threw', detail: `closed ${event.code}` });
        };
    });
}

function tryKeyInUrl() {
    const found = /(^|[#&?])k=/.test(location.hash + location.search);

    return { name: 'the call page key in the URL', outcome: found ? 'resolved' : 'absent', detail: found ? 'present' : 'not in the URL' };
}

/**
 * Runs every attempt and POSTs `{where, attempts}` to `${base}/_standin/probe`.
 *
 * @param {string} where - 'external_api' or 'meeting'.
 * @param {string} base - The stand-in's origin (`https://127.0.0.1:PORT`).
 * @returns {Promise<void>}
 */
export async function run(where, base) {
    const attempts = [];

    attempts.push(await tryInvoke('window.__TAURI_INTERNALS__.invoke', () => internalsInvoke(window)));
    attempts.push(await tryInvoke('window.parent.__TAURI_INTERNALS__.invoke', () => internalsInvoke(window.parent)));
    attempts.push(await tryInvoke('window.top.__TAURI_INTERNALS__.invoke', () => internalsInvoke(window.top)));
    attempts.push(await tryInvoke('window.__TAURI__.core.invoke', () => tauriGlobalInvoke(window)));
    attempts.push(await tryFetch('fetch ipc://localhost/logout', 'ipc://localhost/logout', ipcInit));
    attempts.push(await tryFetch('fetch http://ipc.localhost/logout', 'http://ipc.localhost/logout', ipcInit));
    attempts.push(await tryFetch('fetch tauri://localhost/index.html', 'tauri://localhost/index.html', {}));
    attempts.push(await tryLoopbackChannel());
    attempts.push(tryKeyInUrl());

    try {
        // text/plain keeps this a simple CORS request from the embedding page's origin.
        await fetch(`${base}/_standin/probe`, {
            method: 'POST',
            headers: { 'Content-Type': 'text/plain' },
            body: JSON.stringify({ where, attempts })
        });
    } catch (e) {
        // Nothing else to report to: the test sees no report and says so.
    }
}
