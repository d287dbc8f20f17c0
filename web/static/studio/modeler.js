// The studio modeler: bpmn-js with the project's properties panel; saving runs the server's checks and shows each
// problem as a marker on its element. Configuration comes from a JSON block (no inline script: strict CSP).
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('studio-config').textContent);
  const csrf = document.querySelector('input[name=csrf_token]');
  const state = document.getElementById('save-state');
  const list = document.getElementById('problem-list');
  let lock = config.lock;
  let dirty = false;
  let shownProblems = [];

  const modeler = new BpmnJS({ container: '#canvas', moddleExtensions: { spiffworkflow: window.SPIFF_MODDLE } });
  window.studioModeler = modeler;  // for the browser tests' round trip
  new window.StudioProperties(modeler, document.getElementById('properties'), config);

  function say(text) { state.textContent = text; }

  function showProblems(problems) {
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');
    const registry = modeler.get('elementRegistry');
    shownProblems.forEach(id => { if (registry.get(id)) canvas.removeMarker(id, 'studio-problem'); });
    overlays.remove({ type: 'studio-problem' });
    shownProblems = [];
    list.replaceChildren();
    if (!problems.length) {
      const li = document.createElement('li');
      li.className = 'ok';
      li.textContent = 'No problems: the draft can be submitted for approval.';
      list.appendChild(li);
      return;
    }
    problems.forEach(p => {
      const li = document.createElement('li');
      const shape = p.element && registry.get(p.element);
      const where = shape ? (shape.businessObject.name || p.element) : (p.element || p.file || 'the draft');
      if (shape) {
        const link = document.createElement('button');
        link.type = 'button';
        link.className = 'linklike';
        link.textContent = where;
        link.addEventListener('click', () => {
          canvas.scrollToElement(shape);
          modeler.get('selection').select(shape);
        });
        li.appendChild(link);
        li.appendChild(document.createTextNode(': ' + p.message));
        const missing = p.code === 'form_missing' && /form (\S+\.schema\.json) not found/.exec(p.message);
        if (missing && config.formEditor && config.editable) {
          const write = document.createElement('a');
          write.href = config.formEditor.replace('NAME', missing[1]);
          write.textContent = 'write this form';
          li.appendChild(document.createTextNode(' ('));
          li.appendChild(write);
          li.appendChild(document.createTextNode(')'));
        }
        if (!shownProblems.includes(p.element)) {
          canvas.addMarker(p.element, 'studio-problem');
          const badge = document.createElement('div');
          badge.className = 'problem-badge';
          badge.title = p.message;
          badge.textContent = '!';
          badge.setAttribute('data-element', p.element);
          overlays.add(p.element, 'studio-problem', { position: { top: -10, right: 10 }, html: badge });
          shownProblems.push(p.element);
        }
      } else {
        li.textContent = where + ': ' + p.message;
      }
      li.setAttribute('data-code', p.code);
      list.appendChild(li);
    });
  }

  async function open() {
    try {
      const result = await modeler.importXML(config.xml);
      modeler.get('canvas').zoom('fit-viewport');
      if (result.warnings && result.warnings.length) say(result.warnings.length + ' parts of the file were not understood and are kept as they are.');
      showProblems(config.problems || []);
      document.body.setAttribute('data-modeler', 'ready');
    } catch (err) {
      say('This diagram cannot be shown: ' + err.message);
      document.body.setAttribute('data-modeler', 'failed');
    }
  }

  async function save() {
    const { xml } = await modeler.saveXML({ format: true });
    say('Saving and checking…');
    const response = await fetch(config.save, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': csrf.value },
      body: JSON.stringify({ path: config.path, text: xml, lock: lock }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      say((body.message || 'Not saved.') + (response.status === 409 ? '' : ''));
      if (body.details) showProblems(body.details);
      return;
    }
    lock = body.lock;
    dirty = false;
    const n = body.problems.length;
    say('Saved at ' + body.saved_at + '. ' + (n ? n + ' problem' + (n === 1 ? '' : 's') + ' to fix before submitting.' : 'No problems.'));
    showProblems(body.problems);
    document.body.setAttribute('data-saved', String(lock));
  }
  window.studioSave = save;

  const undo = document.getElementById('undo');
  const redo = document.getElementById('redo');
  modeler.on('commandStack.changed', () => {
    dirty = true;
    say('Unsaved changes.');
    const stack = modeler.get('commandStack');
    if (undo) undo.disabled = !stack.canUndo();
    if (redo) redo.disabled = !stack.canRedo();
  });
  if (undo) undo.addEventListener('click', () => modeler.get('commandStack').undo());
  if (redo) redo.addEventListener('click', () => modeler.get('commandStack').redo());
  window.addEventListener('beforeunload', e => { if (dirty) { e.preventDefault(); e.returnValue = ''; } });
  const button = document.getElementById('save');
  if (button) button.addEventListener('click', () => { save().catch(err => say('Not saved: ' + err.message)); });
  document.querySelectorAll('select[data-nav]').forEach(s => s.addEventListener('change', () => { window.location = s.value; }));
  open();
})();
