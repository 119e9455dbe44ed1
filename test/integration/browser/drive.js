// drive.js — headless Chromium through puppeteer-core (installed by t_tls_browser.sh into
// a temporary directory, with NODE_PATH pointing there) loads the player page and waits
// until the video element has decoded frames and its time advances, or until SECONDS.
//
//   node drive.js CHROMIUM PAGE_URL SCREENSHOT SPKI_HASH play|blocked SECONDS
//
// play: succeeds when totalVideoFrames > 50 and currentTime advanced by 2 s after the
// first frame; blocked: succeeds when no frame was decoded in SECONDS (mixed content).
// Prints the page's last counters as JSON; keeps a screenshot either way.
'use strict';
const puppeteer = require('puppeteer-core');

const [chromium, pageUrl, shot, spki, expect, seconds] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
    const args = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--mute-audio',
                  '--autoplay-policy=no-user-gesture-required'];
    if (spki) // trust the test's certificate (its public key), nothing else
        args.push('--ignore-certificate-errors-spki-list=' + spki);
    if (process.env.LC_RESOLVE) // e.g. "MAP edge.test 127.1.2.3": a name that is not loopback
        args.push('--host-resolver-rules=' + process.env.LC_RESOLVE);
    const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args });
    const page = await browser.newPage();
    await page.setViewport({ width: 660, height: 720 });
    page.on('console', (m) => console.log('console: ' + m.text()));
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 20000 });
    const end = Date.now() + Number(seconds) * 1000;
    let first = null;
    let last = {};
    while (Date.now() < end) {
        last = await page.evaluate(() => window.lc || {});
        if (first === null && last.frames > 0)
            first = { frames: last.frames, time: last.time };
        if (expect === 'play' && first !== null && last.frames > 50 && last.time > first.time + 2)
            break;
        await sleep(250);
    }
    await page.screenshot({ path: shot });
    console.log(JSON.stringify({ first: first, last: last }));
    await browser.close();
    const ok = expect === 'play'
        ? first !== null && last.frames > 50 && last.time > first.time + 2
        : !(last.frames > 0);
    process.exit(ok ? 0 : 1);
})().catch((e) => {
    console.error('drive.js: ' + (e && e.stack ? e.stack : e));
    process.exit(2);
});
