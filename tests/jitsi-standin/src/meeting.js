// The stand-in's meeting page: what a Jitsi deployment's iframe does towards the embedder, on the
// genuine @jitsi/js-utils transport. Token checks, records and scripted events live in the Rust
// stand-in (tests/src/jitsi); this page only relays and keeps the local state Jitsi would keep.
import { PostMessageTransportBackend, Transport } from '@jitsi/js-utils/transport';

import { run as runProbe } from './probe.js';

const standin = window.__STANDIN__ || {};
const room = decodeURIComponent(location.pathname.replace(/^\/+/, ''));

// Hash parameters as external_api.js writes them: key=encodeURIComponent(JSON.stringify(value)),
// keys `config.x`, `interfaceConfig.x`, `userInfo.x` nested into objects.
function parseHash() {
    const params = {};

    for (const part of location.hash.replace(/^#/, '').split('&')) {
        if (!part) {
            continue;
        }
        const eq = part.indexOf('=');
        const key = eq < 0 ? part : part.slice(0, eq);
        const raw = eq < 0 ? '' : part.slice(eq + 1);
        let value;

        try {
            value = JSON.parse(decodeURIComponent(raw));
        } catch (e) {
            try {
                value = decodeURIComponent(raw);
            } catch (e2) {
                value = raw;
            }
        }
        const path = key.split('.');
        let target = params;

        for (let i = 0; i < path.length - 1; i++) {
            if (typeof target[path[i]] !== 'object' || target[path[i]] === null) {
                target[path[i]] = {};
            }
            target = target[path[i]];
        }
        target[path[path.length - 1]] = value;
    }

    return params;
}

const hash = parseHash();
const query = new URLSearchParams(location.search);
const jwt = query.get('jwt') || (typeof hash.jwt === 'string' ? hash.jwt : null);
const config = hash.config || {};
const interfaceConfig = hash.interfaceConfig || {};
const userInfo = hash.userInfo || {};
const apiId = hash.jitsi_meet_external_api_id;

// keepalive: a record posted just before the embedder disposes this frame (hang-up) must
// still arrive.
function post(path, body) {
    return fetch(path, {
        method: 'POST',
        keepalive: true,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
    });
}

const state = {
    joined: false,
    left: false,
    moderator: false,
    id: null,
    displayName: '',
    audioMuted: false,
    videoMuted: false,
    sharing: false,
    handRaised: 0,
    tileView: false,
    lobby: false,
    knockers: new Map()
};

const transport = new Transport({
    backend: new PostMessageTransportBackend({
        postisOptions: { scope: `jitsi_meet_external_api_${apiId}` }
    })
});

function leave() {
    if (state.left) {
        return;
    }
    state.left = true;
    state.joined = false;
    transport.sendEvent({ name: 'video-conference-left', roomName: room });
    transport.sendEvent({ name: 'video-ready-to-close' });
}

// Commands arrive as events {name, data: [args]} (API.js `transport.on('event')`).
const commands = {
    'toggle-audio': () => {
        state.audioMuted = !state.audioMuted;
        transport.sendEvent({ name: 'audio-mute-status-changed', muted: state.audioMuted });
    },
    'toggle-video': () => {
        state.videoMuted = !state.videoMuted;
        transport.sendEvent({ name: 'video-mute-status-changed', muted: state.videoMuted });
    },
    'video-hangup': () => leave(),
    'toggle-share-screen': options => {
        const enable = options && typeof options.enable === 'boolean' ? options.enable : !state.sharing;

        state.sharing = enable;
        transport.sendEvent({ name: 'screen-sharing-status-changed', on: state.sharing });
    },
    'toggle-raise-hand': () => {
        // API.js notifyRaiseHandUpdated: handRaised is the raise timestamp, 0 when lowered.
        state.handRaised = state.handRaised ? 0 : Date.now();
        transport.sendEvent({ name: 'raise-hand-updated', id: state.id, handRaised: state.handRaised });
    },
    'toggle-tile-view': () => {
        state.tileView = !state.tileView;
        transport.sendEvent({ name: 'tile-view-changed', enabled: state.tileView });
    },
    'toggle-lobby': enabled => {
        if (state.moderator) {
            state.lobby = Boolean(enabled);
        }
    },
    'answer-knocking-participant': (id, approved) => {
        if (!state.moderator) {
            return;
        }
        const knocker = state.knockers.get(id);

        state.knockers.delete(id);
        if (approved && knocker) {
            transport.sendEvent({ name: 'participant-joined', id, displayName: knocker.name });
        }
    },
    'mute-everyone': () => {
        // Recorded by the stand-in; no remote participants' media to mute here.
    },
    'end-conference': () => {
        if (state.moderator) {
            leave();
        }
    },
    'display-name': name => {
        state.displayName = String(name);
        transport.sendEvent({ name: 'display-name-change', id: state.id, displayname: state.displayName });
    }
};

transport.on('event', ({ name, data }) => {
    if (!name) {
        return false;
    }
    const args = Array.isArray(data) ? data : [];

    post('/_standin/commands', { room, name, args, pageTimeMs: Date.now() }).catch(() => undefined);
    if (state.joined && commands[name]) {
        commands[name](...args);
    }

    return true;
});

transport.on('request', (request, callback) => {
    switch (request && request.name) {
    case 'is-audio-muted':
        callback(state.audioMuted);

        return true;
    case 'is-video-muted':
        callback(state.videoMuted);

        return true;
    case 'is-sharing-screen':
        callback(state.sharing);

        return true;
    default:
        return false;
    }
});

function listenToScript() {
    const source = new EventSource(`/_standin/script?room=${encodeURIComponent(room)}`);

    source.onmessage = message => {
        let event;

        try {
            event = JSON.parse(message.data);
        } catch (e) {
            return;
        }
        if (event && event.name === 'knocking-participant') {
            // Jitsi tells only moderators about knockers.
            if (!state.moderator) {
                return;
            }
            const participant = event.participant || {};

            state.knockers.set(participant.id, participant);
        }
        transport.sendEvent(event);
    };
}

async function loopbackMedia() {
    if (typeof RTCPeerConnection !== 'function') {
        return { supported: false, reason: `typeof RTCPeerConnection is ${typeof RTCPeerConnection}` };
    }
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
        return { supported: false, reason: 'navigator.mediaDevices.getUserMedia is missing' };
    }
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const pc1 = new RTCPeerConnection();
    const pc2 = new RTCPeerConnection();

    pc1.onicecandidate = e => e.candidate && pc2.addIceCandidate(e.candidate);
    pc2.onicecandidate = e => e.candidate && pc1.addIceCandidate(e.candidate);
    // The demo meeting shows what comes back, and keeps it running for as long as the page.
    const selfView = standin.demo ? document.getElementById('standin-self') : null;

    pc2.ontrack = event => {
        if (selfView && event.streams[0]) {
            selfView.srcObject = event.streams[0];
        }
    };
    for (const track of stream.getTracks()) {
        pc1.addTrack(track, stream);
    }
    const offer = await pc1.createOffer();

    await pc1.setLocalDescription(offer);
    await pc2.setRemoteDescription(offer);
    const answer = await pc2.createAnswer();

    await pc2.setLocalDescription(answer);
    await pc1.setRemoteDescription(answer);
    await new Promise(resolve => setTimeout(resolve, 3000));
    let bytesReceived = 0;
    let framesDecoded = 0;
    const stats = await pc2.getStats();

    stats.forEach(report => {
        if (report.type === 'inbound-rtp') {
            bytesReceived += report.bytesReceived || 0;
            framesDecoded += report.framesDecoded || 0;
        }
    });
    if (!selfView) {
        stream.getTracks().forEach(track => track.stop());
        pc1.close();
        pc2.close();
    }

    return { supported: true, bytesReceived, framesDecoded };
}

async function join() {
    let answer;

    try {
        const response = await post('/_standin/join', { room, jwt, config, interfaceConfig, userInfo });

        answer = await response.json();
    } catch (e) {
        answer = { accepted: false, error: 'connection.otherError', message: String(e) };
    }
    if (!answer.accepted) {
        transport.sendEvent({
            name: 'error-occurred',
            error: {
                name: answer.error,
                message: answer.message || answer.error,
                type: 'CONNECTION',
                isFatal: true
            }
        });

        return;
    }
    state.joined = true;
    state.moderator = Boolean(answer.moderator);
    state.id = answer.id;
    state.displayName = answer.name || '';
    if (config.startWithAudioMuted) {
        state.audioMuted = true;
        transport.sendEvent({ name: 'audio-mute-status-changed', muted: true });
    }
    if (config.startWithVideoMuted) {
        state.videoMuted = true;
        transport.sendEvent({ name: 'video-mute-status-changed', muted: true });
    }
    transport.sendEvent({
        name: 'video-conference-joined',
        roomName: room,
        id: state.id,
        displayName: state.displayName
    });
    if (state.moderator) {
        transport.sendEvent({ name: 'participant-role-changed', id: state.id, role: 'moderator' });
    }
    listenToScript();

    let report;

    try {
        report = await loopbackMedia();
    } catch (e) {
        report = { supported: false, reason: `${e && e.name}: ${e && e.message}` };
    }
    post('/_standin/media', { room, ...report }).catch(() => undefined);
}

// API.js: after the transport is up, `browser-support` then `ready`. The transport queues
// both until the postis handshake with the host page completes.
transport.sendEvent({ name: 'browser-support', supported: true });
transport.sendEvent({ name: 'ready' });
join();

if (standin.probeIpc) {
    runProbe('meeting', location.origin);
    offerTopHijack();
}

// A hostile deployment's page tries to take the whole app window to its own origin. WebKit lets
// a cross-origin frame navigate the top only after the user interacted with it, which a real
// call always has: the test clicks this button (inside the frames) to give it that.
function offerTopHijack() {
    const button = document.createElement('button');

    button.id = 'standin-hijack-top';
    button.type = 'button';
    button.textContent = 'Take over the window';
    button.addEventListener('click', () => {
        const target = `${location.origin}/_standin/hijacked`;

        for (const attempt of [
            () => { window.top.location.href = target; },
            () => window.open(target, '_top')
        ]) {
            try {
                attempt();
            } catch (e) {
                // Refused outright; the test checks where the window is.
            }
        }
    });
    document.body.append(button);
}
