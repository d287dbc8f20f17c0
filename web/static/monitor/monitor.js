// The monitor's diagrams: a case's element states, progress and dates, or a procedure's heatmap, drawn over the
// bpmn-js viewer. Page data comes from <script type="application/json" id="monitor-config"> (no inline script).
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('monitor-config').textContent);
  const diagrams = config.diagrams || [];
  if (!diagrams.length) { return; }
  const viewer = new BpmnJS({ container: '#canvas' });
  const tabs = document.getElementById('diagram-tabs');

  function hours(h) {
    if (h === null || h === undefined) { return '—'; }
    if (h < 24) { return h + ' h'; }
    const days = Math.floor(h / 24);
    return days < 14 ? days + ' d' : Math.floor(days / 7) + ' wk';
  }

  function badge(overlays, element, html, position, kind) {
    const div = document.createElement('div');
    div.className = 'mon-badge ' + kind;
    div.textContent = html;
    overlays.add(element, { position: position, html: div });
  }

  function markCase(registry, canvas, overlays) {
    const elements = config.elements || {};
    Object.keys(elements).forEach(function (id) {
      if (!registry.get(id)) { return; }
      const e = elements[id];
      canvas.addMarker(id, 'mon-' + e.state);
      if (e.of !== undefined) {
        badge(overlays, id, e.done + ' of ' + e.of + ' done', { top: -22, left: 0 }, 'progress');
      } else if ((e.active || 0) > 1) {
        badge(overlays, id, e.active + ' waiting', { top: -22, left: 0 }, 'progress');
      }
    });
    const seen = {};
    (config.badges || []).forEach(function (b) {
      if (!registry.get(b.element) || seen[b.element]) { return; }
      seen[b.element] = true;
      badge(overlays, b.element, (b.revised ? 'due (revised) ' : 'due ') + b.due, { bottom: -4, left: 0 },
            'due' + (b.revised ? ' revised' : ''));
    });
    if (config.error && registry.get(config.error)) {
      canvas.addMarker(config.error, 'mon-errored');
      badge(overlays, config.error, 'failed here', { top: -22, right: 60 }, 'failed');
    }
  }

  function markHeat(registry, canvas, overlays) {
    const heat = config.heat || [];
    const peak = Math.max(1, ...heat.map(function (h) { return h.waiting; }));
    heat.forEach(function (h) {
      if (!registry.get(h.element)) { return; }
      if (h.waiting) {
        const level = Math.min(4, Math.ceil(h.waiting / peak * 4));
        canvas.addMarker(h.element, 'heat-' + level);
        badge(overlays, h.element, h.waiting + ' waiting', { top: -22, left: 0 }, 'heat');
      }
      if (h.finished) {
        badge(overlays, h.element, 'median ' + hours(h.median) + ' · p90 ' + hours(h.p90), { bottom: -4, left: 0 },
              'times');
      }
    });
  }

  // A whole procedure fitted to the screen is too small to read: zoom to where the case waits (or fails), or to
  // the busiest steps of a heatmap, when fitting leaves the labels unreadable.
  function focus(canvas, registry, always) {
    if (!always && canvas.zoom() >= 0.6) { return; }
    const marked = registry.filter(function (e) {
      return ['mon-active', 'mon-errored', 'heat-3', 'heat-4', 'heat-2'].some(function (m) { return canvas.hasMarker(e, m); });
    });
    if (!marked.length) { return; }
    const left = Math.min(...marked.map(function (e) { return e.x; }));
    const top = Math.min(...marked.map(function (e) { return e.y; }));
    const right = Math.max(...marked.map(function (e) { return e.x + (e.width || 0); }));
    const bottom = Math.max(...marked.map(function (e) { return e.y + (e.height || 0); }));
    const pad = 120;
    canvas.viewbox({ x: left - pad, y: top - pad, width: right - left + 2 * pad, height: bottom - top + 2 * pad });
    if (canvas.zoom() > 1) { canvas.zoom(1, 'auto'); }
  }

  function show(index) {
    Array.prototype.forEach.call(tabs.children, function (t, i) { t.setAttribute('aria-selected', String(i === index)); });
    document.body.setAttribute('data-monitor', 'loading');
    viewer.importXML(diagrams[index].xml).then(function () {
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      const overlays = viewer.get('overlays');
      canvas.zoom('fit-viewport');
      if (config.heat) { markHeat(registry, canvas, overlays); } else { markCase(registry, canvas, overlays); }
      focus(canvas, registry);
      document.body.setAttribute('data-monitor', 'ready');
    }).catch(function (err) {
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = 'This diagram cannot be shown: ' + err.message;
      document.getElementById('canvas').appendChild(p);
      document.body.setAttribute('data-monitor', 'failed');
    });
  }

  if (tabs && diagrams.length > 1) {
    diagrams.forEach(function (d, i) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'tab';
      button.setAttribute('role', 'tab');
      button.textContent = d.processes.join(', ') || d.file;
      button.addEventListener('click', function () { show(i); });
      tabs.appendChild(button);
    });
  }
  const fit = document.getElementById('zoom-fit');
  const near = document.getElementById('zoom-focus');
  if (fit) { fit.addEventListener('click', function () { viewer.get('canvas').zoom('fit-viewport'); }); }
  if (near) {
    near.addEventListener('click', function () { focus(viewer.get('canvas'), viewer.get('elementRegistry'), true); });
  }
  show(0);
})();
