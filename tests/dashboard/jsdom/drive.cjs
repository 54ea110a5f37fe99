// Test-only remote control for the WebSocket test page in jsdom (a DOM without a browser).
//
//   PAGE_URL=http://127.0.0.1:PORT/ws-test node drive.cjs
//
// Reads one JSON command per line on stdin and answers one JSON line on stdout:
//   {"do": "set", "id": "key", "value": "..."}     set an input's value (or a checkbox's `checked`)
//   {"do": "click", "selector": "#connect"}        click an element
//   {"do": "submit", "id": "connect-form"}         submit a form
//   {"do": "snapshot"}                             what the page shows, plus its fetches and storage
// jsdom runs no module scripts, so the page's one inline module runs as a classic script; it has no
// imports, so it behaves the same. fetch and URL.createObjectURL, which jsdom lacks, are Node's fetch
// and a recorder.
const readline = require('node:readline');
const { JSDOM, VirtualConsole } = require('jsdom');

const pageUrl = process.env.PAGE_URL;

async function main() {
  const response = await fetch(pageUrl);
  const html = (await response.text()).replace('<script type="module">', '<script>');
  const fetches = [];
  const blobs = [];
  const errors = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on('jsdomError', (error) => errors.push(String(error.stack || error)));
  virtualConsole.on('error', (...args) => errors.push(args.join(' ')));
  const dom = new JSDOM(html, {
    url: pageUrl,
    runScripts: 'dangerously',
    virtualConsole,
    beforeParse(window) {
      window.fetch = async (input, init = {}) => {
        const url = new URL(String(input), pageUrl).toString();
        fetches.push({ url, method: init.method || 'GET', headers: init.headers || {} });
        return fetch(url, init);
      };
      window.URL.createObjectURL = (blob) => {
        const entry = { type: blob.type, text: null };
        blobs.push(entry);
        blob.text().then((text) => { entry.text = text; });
        return `blob:${pageUrl}#${blobs.length}`;
      };
      window.URL.revokeObjectURL = () => {};
    },
  });
  const { window } = dom;
  const document = window.document;
  const $ = (id) => document.getElementById(id);
  const text = (id) => $(id).textContent;

  function snapshot() {
    return {
      connection: text('conn-status'),
      url: $('url').value,
      lastId: text('last-id'),
      subscriptions: text('subscriptions'),
      state: {
        status: text('state-status'),
        ready: text('state-ready'),
        hasQR: text('state-hasqr'),
        account: text('state-account'),
        received: text('state-received'),
      },
      qr: {
        imageShown: !$('qr-image').hidden,
        src: $('qr-image').getAttribute('src'),
        text: $('qr-text').hidden ? null : text('qr-text'),
        status: text('qr-status'),
      },
      buttons: Object.fromEntries([...document.querySelectorAll('button')].map((b) => [b.id || b.dataset.command, !b.disabled])),
      log: [...document.querySelectorAll('#log-entries li')].map((li) => ({
        kind: li.className,
        time: li.querySelector('time').textContent,
        text: (li.querySelector('summary') ? li.querySelector('pre').textContent : li.lastElementChild.textContent),
      })),
      counts: text('log-counts'),
      fetches,
      blobs,
      sessionStorage: { ...window.sessionStorage },
      localStorageLength: window.localStorage.length,
      errors,
    };
  }

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    let answer;
    try {
      const command = JSON.parse(line);
      if (command.do === 'set') {
        const element = $(command.id);
        if (element.type === 'checkbox') element.checked = command.value;
        else element.value = command.value;
        element.dispatchEvent(new window.Event('change', { bubbles: true }));
        answer = { ok: true };
      } else if (command.do === 'click') {
        document.querySelector(command.selector).click();
        answer = { ok: true };
      } else if (command.do === 'submit') {
        $(command.id).dispatchEvent(new window.Event('submit', { bubbles: true, cancelable: true }));
        answer = { ok: true };
      } else if (command.do === 'snapshot') {
        answer = { ok: true, result: snapshot() };
      } else {
        answer = { ok: false, error: `unknown command ${command.do}` };
      }
    } catch (error) {
      answer = { ok: false, error: String(error.stack || error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
  window.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
