// The kiosk's media self-test, run in a hidden Chromium (the browser its calls use). It measures
// and reports numbers over the authenticated loopback channel; the core decides what they mean
// (consult_core::self_test). Nothing here passes or fails anything.
'use strict';
(() => {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('k') || '';
  // The key leaves the address bar and history at once.
  history.replaceState(null, '', location.pathname);

  const TONE_HZ = 3000;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const describe = (error) => `${error && error.name ? error.name : 'Error'}: ${error && error.message ? error.message : error}`;

  // A few frames of the camera: the brightest mean luminance and the widest spread (0-255).
  async function camera(report) {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    } catch (error) {
      report.cameraError = describe(error);
      return;
    }
    try {
      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = stream;
      await video.play();
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 48;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      for (let i = 0; i < 10; i += 1) {
        await sleep(100);
        if (video.videoWidth === 0) continue;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0;
        let squares = 0;
        const count = pixels.length / 4;
        for (let p = 0; p < pixels.length; p += 4) {
          const luma = 0.299 * pixels[p] + 0.587 * pixels[p + 1] + 0.114 * pixels[p + 2];
          sum += luma;
          squares += luma * luma;
        }
        const mean = sum / count;
        const spread = Math.sqrt(Math.max(0, squares / count - mean * mean));
        report.frames += 1;
        report.meanLuma = Math.max(report.meanLuma, mean);
        report.lumaSpread = Math.max(report.lumaSpread, spread);
      }
    } catch (error) {
      report.cameraError = describe(error);
    } finally {
      stream.getTracks().forEach((track) => track.stop());
    }
  }

  // The loudest 50 ms of about 1.5 s; then a tone played on the speaker, listened for at its
  // own frequency.
  async function sound(report) {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (error) {
      report.microphoneError = describe(error);
      return;
    }
    const context = new AudioContext();
    try {
      await context.resume();
      const track = stream.getAudioTracks()[0];
      report.simulatedInput = /fake/i.test(track ? track.label : '');
      const analyser = context.createAnalyser();
      analyser.fftSize = 4096;
      analyser.smoothingTimeConstant = 0;
      context.createMediaStreamSource(stream).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      const bin = Math.round(TONE_HZ / (context.sampleRate / analyser.fftSize));
      const listen = async (rounds) => {
        let loudest = -Infinity;
        for (let i = 0; i < rounds; i += 1) {
          await sleep(50);
          analyser.getFloatTimeDomainData(samples);
          let squares = 0;
          for (const sample of samples) squares += sample * sample;
          report.peakRms = Math.max(report.peakRms, Math.sqrt(squares / samples.length));
          analyser.getFloatFrequencyData(spectrum);
          loudest = Math.max(loudest, spectrum[bin]);
        }
        return Number.isFinite(loudest) ? loudest : -200;
      };
      // A microphone may deliver its first samples a second or more after it opens: the quiet
      // level is measured once it does (a real one always hears something), or after 2 s (a
      // virtual one may hear exact silence), so a sound starting late is not taken for the tone.
      for (let i = 0; i < 40; i += 1) {
        analyser.getFloatTimeDomainData(samples);
        if (samples.some((sample) => sample !== 0)) break;
        await sleep(50);
      }
      const quiet = await listen(30);
      try {
        const outputs = (await navigator.mediaDevices.enumerateDevices())
          .filter((device) => device.kind === 'audiooutput');
        report.outputs = outputs.length;
        const tone = context.createOscillator();
        const gain = context.createGain();
        tone.frequency.value = TONE_HZ;
        gain.gain.value = 0.3;
        tone.connect(gain).connect(context.destination);
        tone.start();
        const heard = await listen(20);
        tone.stop();
        report.quietDb = quiet;
        report.toneDb = heard;
      } catch (error) {
        report.speakerError = describe(error);
      }
    } catch (error) {
      report.microphoneError = describe(error);
    } finally {
      stream.getTracks().forEach((track) => track.stop());
      context.close();
    }
  }

  const socket = new WebSocket('ws://' + location.host + '/call/ws');
  socket.onopen = async () => {
    socket.send(JSON.stringify({ kind: 'hello', key }));
    const report = { frames: 0, meanLuma: 0, lumaSpread: 0, peakRms: 0, outputs: 0, simulatedInput: false };
    await camera(report);
    await sound(report);
    socket.send(JSON.stringify({ kind: 'selfTest', report }));
    document.getElementById('status').textContent = 'Self-test done.';
  };
})();
