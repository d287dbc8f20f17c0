// A read-only diagram: a stored version, or a draft with its changes marked (added, changed).
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('studio-config').textContent);
  const viewer = new BpmnJS({ container: '#canvas' });
  viewer.importXML(config.xml).then(() => {
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport');
    (config.marks || []).forEach(m => { if (registry.get(m.element)) canvas.addMarker(m.element, 'studio-' + m.kind); });
    document.body.setAttribute('data-viewer', 'ready');
  }).catch(err => {
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = 'This diagram cannot be shown: ' + err.message;
    document.getElementById('canvas').appendChild(p);
    document.body.setAttribute('data-viewer', 'failed');
  });
})();
