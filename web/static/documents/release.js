// A pack being built and scanned: its progress polled every second until it ends; then the page reloads to show
// the download or the findings. Without JavaScript the page refreshes itself (the <noscript> meta refresh).
(function () {
  'use strict';
  const box = document.getElementById('release');
  const state = document.getElementById('release-state');
  const bar = document.getElementById('release-progress');
  if (!box || !bar) return;
  function poll() {
    fetch(box.dataset.poll, { headers: { Accept: 'application/json' } }).then(r => r.json()).then(release => {
      bar.max = release.total || 1;
      bar.value = release.done;
      bar.textContent = release.done + ' of ' + release.total;
      if (release.status === 'queued' || release.status === 'running') {
        state.textContent = 'Building and scanning: ' + release.done + ' of ' + release.total + ' steps done.';
        setTimeout(poll, 1000);
      } else {
        window.location.reload();
      }
    }).catch(() => setTimeout(poll, 2000));
  }
  setTimeout(poll, 1000);
})();
