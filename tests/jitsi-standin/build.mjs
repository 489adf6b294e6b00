// Bundles the stand-in's browser code with esbuild:
//   dist/external_api.js  the genuine JitsiMeetExternalAPI from @jitsi/react-native-sdk
//                         (modules/API/external), an IIFE defining the global like the real file;
//   dist/meeting.js       the stand-in meeting page on the genuine @jitsi/js-utils transport;
//   dist/probe.js         the IPC isolation probe (global __consultStandinProbe), appended to
//                         external_api.js by the stand-in when a test asks for it.
// Run with `node build.mjs` after `npm ci`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const common = {
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    // Jitsi's web build resolves the `.web` variants of its sources first.
    resolveExtensions: ['.web.ts', '.web.js', '.ts', '.tsx', '.js', '.jsx', '.json'],
    minify: true,
    legalComments: 'inline',
    logLevel: 'warning',
    absWorkingDir: here
};

await build({
    ...common,
    entryPoints: ['node_modules/@jitsi/react-native-sdk/modules/API/external/index.js'],
    outfile: 'dist/external_api.js',
    globalName: 'JitsiMeetExternalAPI',
    // Like the real bundle: the global is the class itself (index.js is `module.exports = ...default`).
    footer: { js: 'JitsiMeetExternalAPI = JitsiMeetExternalAPI.default || JitsiMeetExternalAPI;' }
});
await build({ ...common, entryPoints: ['src/meeting.js'], outfile: 'dist/meeting.js' });
await build({
    ...common,
    entryPoints: ['src/probe.js'],
    outfile: 'dist/probe.js',
    globalName: '__consultStandinProbe'
});
