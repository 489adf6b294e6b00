// The call page: hosts Jitsi's external_api.js away from the app's IPC and relays between the
// conference and the Consult core over an authenticated loopback WebSocket
// (crates/consult-core/src/call/channel.rs). It decides nothing: the core owns the call state.
'use strict';
(() => {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('k') || '';
  const mode = fragment.get('mode') === 'browser' ? 'browser' : 'embedded';
  // The key must not stay in the address bar, the history or anything read later.
  history.replaceState(null, '', location.pathname);

  const stage = document.getElementById('stage');
  const statusLine = document.getElementById('status');
  const controls = document.getElementById('controls');
  let api = null;
  let script = null;
  let socket = null;
  let closedByCore = false;
  let takenRetries = 0;

  const say = (text) => { statusLine.textContent = text; };
  const send = (message) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  // Jitsi's public event names and payloads, unchanged: the core speaks external_api.js's own vocabulary.
  const forward = (name, data) => send({ kind: 'event', name, data: data || {} });

  function loadScript(url) {
    if (script) return script;
    script = new Promise((resolve, reject) => {
      const element = document.createElement('script');
      element.src = url;
      element.onload = () => resolve();
      element.onerror = () => {
        element.remove();
        script = null;
        reject(new Error('the video call library could not be loaded from ' + url));
      };
      document.head.append(element);
    });
    return script;
  }

  function dispose() {
    if (api) {
      try { api.dispose(); } catch (error) { console.warn('dispose failed', error); }
      api = null;
    }
    stage.replaceChildren();
  }

  async function load(message) {
    dispose();
    say('Connecting to the video call…');
    try {
      await loadScript(message.scriptUrl);
    } catch (error) {
      say('The video call could not start.');
      send({ kind: 'loadFailed', detail: error.message });
      return;
    }
    if (typeof window.JitsiMeetExternalAPI !== 'function') {
      say('The video call could not start.');
      send({ kind: 'loadFailed', detail: 'the script at ' + message.scriptUrl + ' is not Jitsi Meet\'s external_api.js' });
      return;
    }
    const options = Object.assign({}, message.options, {
      parentNode: stage,
      width: '100%',
      height: '100%',
      // Set by external_api.js before the frame loads: the meeting may never navigate the
      // top (this page, or the app's window), whatever the frames above allow.
      sandbox: 'allow-scripts allow-same-origin allow-forms allow-popups',
    });
    try {
      api = new window.JitsiMeetExternalAPI(message.domain, options);
      for (const name of message.events) {
        api.addListener(name, (data) => forward(name, data));
      }
    } catch (error) {
      api = null;
      say('The video call could not start.');
      send({ kind: 'loadFailed', detail: 'the video call library failed to start (' + error.message + ')' });
      return;
    }
    say('');
  }

  function showView(view) {
    controls.hidden = false;
    const joined = view.phase.phase === 'joined';
    const set = (id, pressed, on, off) => {
      const button = document.getElementById(id);
      button.setAttribute('aria-pressed', String(pressed));
      button.textContent = pressed ? on : off;
      button.disabled = !joined;
    };
    set('page-audio', view.audioMuted, 'Unmute', 'Mute');
    set('page-video', view.videoMuted, 'Start camera', 'Stop camera');
    set('page-share', view.sharingScreen, 'Stop sharing', 'Share screen');
    set('page-hand', view.handRaised, 'Lower hand', 'Raise hand');
    set('page-tile', view.tileView, 'Speaker view', 'Tile view');
    document.getElementById('page-hangup').disabled = view.phase.phase === 'ended';
    if (view.phase.phase === 'failed') say(view.phase.message);
  }

  controls.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-control]');
    if (button) send({ kind: 'control', control: { control: button.dataset.control } });
  });

  function connect() {
    socket = new WebSocket('ws://' + location.host + '/call/ws');
    socket.onopen = () => socket.send(JSON.stringify({ kind: 'hello', key }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.kind) {
        case 'load':
          load(message).catch((error) => send({ kind: 'loadFailed', detail: String(error && error.message || error) }));
          break;
        case 'command':
          if (api) api.executeCommand(message.name, ...message.args);
          break;
        case 'dispose':
          closedByCore = true;
          dispose();
          say('The call has ended.');
          break;
        case 'view': if (mode === 'browser') showView(message.view); break;
        default: console.warn('unknown message from the app', message.kind);
      }
    };
    socket.onclose = (event) => {
      // 4409: the previous page of this window (a re-shown frame) still owns the call for a
      // moment; it lets go as it closes.
      if (event.code === 4409 && takenRetries < 10) {
        takenRetries += 1;
        setTimeout(connect, 300);
        return;
      }
      dispose();
      controls.hidden = true;
      if (!closedByCore) say('The Consult app is no longer connected to this call. Close this window and join again from the app.');
    };
  }

  window.addEventListener('pagehide', () => send({ kind: 'closing' }));
  connect();
})();
