// Passkeys (WebAuthn) on Tenantry's pages. WebAuthn is a browser API, so this is the one part
// of the pages that needs JavaScript; every other form works without it.
//
// A button `[data-passkey=register|sign-in|second-factor]` inside `[data-passkey-box]` runs one
// ceremony against the pages' server functions (app/src/pages/passkeys.rs): options from the
// server, the browser's `navigator.credentials` call, the answer back. Clicks are caught on the
// document, so buttons re-rendered by the app keep working.
(() => {
  'use strict';

  // The buttons show (and the "needs JavaScript" notes hide) once this has run: style/main.css.
  document.documentElement.classList.add('passkeys-ready');

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };

  const toBase64url = (buffer) => {
    let binary = '';
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };

  // Fields the server leaves empty come as null; the browser wants them absent.
  const withoutNulls = (value) => {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
    }
    return value;
  };

  // The server sends binary fields as base64url text; the browser wants buffers.
  const creationOptions = (raw) => {
    const publicKey = withoutNulls(raw);
    return {
      ...publicKey,
      challenge: fromBase64url(publicKey.challenge),
      user: { ...publicKey.user, id: fromBase64url(publicKey.user.id) },
      excludeCredentials: (publicKey.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
    };
  };

  const requestOptions = (raw) => {
    const publicKey = withoutNulls(raw);
    return {
      ...publicKey,
      challenge: fromBase64url(publicKey.challenge),
      allowCredentials: (publicKey.allowCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
    };
  };

  // The credential as JSON with base64url fields (what PublicKeyCredential.toJSON() gives in
  // newer browsers, built by hand for the others).
  const credentialJson = (credential) => {
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(json);
  };

  // A server function: form-encoded in, JSON out; a failure carries the message to show.
  const call = async (endpoint, fields = {}) => {
    const response = await fetch('/fn/' + endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const fieldMessages = body && body.fields ? Object.values(body.fields).flat() : [];
      throw new Error(fieldMessages.join(' ') || (body && body.message) || 'Something went wrong; try again.');
    }
    return body;
  };

  const ceremonies = {
    async register(box) {
      const options = JSON.parse(await call('passkey-register-options'));
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      const name = box.querySelector('input[name="passkey_name"]');
      await call('passkey-register', { ceremony: options.ceremony, name: name ? name.value : '', credential: credentialJson(credential) });
      return '/security?done=passkey#passkeys';
    },
    async 'sign-in'() {
      const options = JSON.parse(await call('passkey-sign-in-options'));
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      return call('passkey-sign-in', { ceremony: options.ceremony, credential: credentialJson(credential) });
    },
    async 'second-factor'() {
      const options = JSON.parse(await call('passkey-mfa-options'));
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      return call('passkey-mfa', { credential: credentialJson(credential) });
    },
  };

  const explain = (error) => {
    if (error && error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
    if (error && error.name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
    if (error && error.name === 'SecurityError') return 'Passkeys cannot be used at this address.';
    return (error && error.message) || 'The passkey did not work; try again.';
  };

  document.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-passkey]');
    if (!button) return;
    event.preventDefault();
    const box = button.closest('[data-passkey-box]') || document.body;
    const message = box.querySelector('[data-passkey-error]');
    const show = (text) => { if (message) message.textContent = text; };
    show('');
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show('This browser does not support passkeys.');
      return;
    }
    // Passkeys are bound to a domain; on another address (an IP, another host) the browser
    // would refuse with a less helpful message.
    const domain = box.dataset.rpId;
    const host = location.hostname;
    if (domain && host !== domain && !host.endsWith('.' + domain)) {
      show('Passkeys work on ' + domain + '; open this page there to use one.');
      return;
    }
    const ceremony = ceremonies[button.dataset.passkey];
    if (!ceremony) return;
    button.disabled = true;
    try {
      location.assign(await ceremony(box));
    } catch (error) {
      show(explain(error));
    } finally {
      button.disabled = false;
    }
  });
})();
