// The form editor: a JSON Schema on the left, the inbox's own rendering of it on the right (rendered by the server).
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('studio-config').textContent);
  const csrf = document.querySelector('input[name=csrf_token]') || { value: '' };
  const text = document.getElementById('schema-text');
  const preview = document.getElementById('preview');
  const problem = document.getElementById('preview-error');
  const state = document.getElementById('form-state');
  let lock = config.lock;
  let timer = null;

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': csrf.value },
      body: JSON.stringify(body),
    }).then(r => r.json().then(b => ({ ok: r.ok, body: b })));
  }

  function refresh() {
    post(config.preview, { text: text.value }).then(({ ok, body }) => {
      if (!ok) {
        problem.hidden = false;
        problem.textContent = body.error || body.message || 'The form cannot be shown.';
        return;
      }
      problem.hidden = true;
      // The server's own renderer (Jinja, escaped): the same HTML the inbox shows for this form.
      preview.innerHTML = body.html;
      preview.querySelectorAll('input, select, textarea, button').forEach(i => { i.disabled = true; });
      document.body.setAttribute('data-preview', 'ready');
    });
  }

  text.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(refresh, 300); state.textContent = 'Unsaved changes.'; });
  const save = document.getElementById('save-form');
  if (save) {
    save.addEventListener('click', () => {
      try { JSON.parse(text.value); } catch (err) { state.textContent = 'Not saved: not valid JSON (' + err.message + ').'; return; }
      post(config.save, { path: config.path, text: text.value, lock: lock }).then(({ ok, body }) => {
        if (!ok) { state.textContent = 'Not saved: ' + (body.message || 'refused'); return; }
        lock = body.lock;
        state.textContent = 'Saved at ' + body.saved_at + '.';
        document.body.setAttribute('data-saved', String(lock));
      });
    });
  }
  refresh();
})();
