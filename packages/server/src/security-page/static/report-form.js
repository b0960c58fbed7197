/*
 * The vulnerability report form: the browser encrypts the report to the service's OpenPGP key
 * with OpenPGP.js and sends only the ciphertext. A plain module served by the server (the CSP
 * allows scripts from our origin only). Browsers without modules never run it; the form then
 * stays hidden and the page's email instructions remain.
 */

const form = document.getElementById('report-form');
const textArea = document.getElementById('report-text');
const statusBox = document.getElementById('report-status');

if (form && textArea && statusBox && window.crypto?.subtle) {
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendReport();
  });
}

/** OpenPGP.js, loaded the first time a report is sent (it is large; most visitors only read). */
function loadOpenpgp() {
  return import(form.dataset.openpgpUrl);
}

function showStatus(message, receiptId) {
  statusBox.replaceChildren(document.createTextNode(message));
  if (receiptId) {
    const line = document.createElement('p');
    const receipt = document.createElement('strong');
    receipt.id = 'report-receipt';
    receipt.textContent = receiptId;
    line.append(`${form.dataset.receiptLabel} `, receipt);
    statusBox.append(line);
  }
}

async function sendReport() {
  const button = form.querySelector('button[type="submit"]');
  const text = textArea.value;
  if (text.trim() === '') return;
  button.disabled = true;
  showStatus(form.dataset.encrypting);
  try {
    const openpgp = await loadOpenpgp();
    const keyResponse = await fetch(form.dataset.keyUrl, { cache: 'no-cache' });
    if (!keyResponse.ok) throw new Error(`key: HTTP ${keyResponse.status}`);
    const key = await openpgp.readKey({ armoredKey: await keyResponse.text() });
    // The key must be the one whose fingerprint the page shows.
    if (key.getFingerprint().toUpperCase() !== form.dataset.fingerprint) {
      throw new Error('the key does not match the fingerprint on the page');
    }
    const ciphertext = await openpgp.encrypt({
      message: await openpgp.createMessage({ text }),
      encryptionKeys: key,
    });
    const response = await fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ciphertext }),
    });
    if (response.status !== 201) throw new Error(`report: HTTP ${response.status}`);
    const receipt = await response.json();
    textArea.value = '';
    showStatus(form.dataset.sent, receipt.id);
  } catch (error) {
    console.error(error);
    showStatus(form.dataset.failed);
  } finally {
    button.disabled = false;
  }
}
