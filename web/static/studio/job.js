// A background job's progress, polled until it ends; then the page reloads to show every case's result.
(function () {
  'use strict';
  const state = document.getElementById('job-state');
  const bar = document.getElementById('job-progress');
  function poll() {
    fetch(window.location.pathname, { headers: { Accept: 'application/json' } }).then(r => r.json()).then(job => {
      bar.max = job.total || 1;
      bar.value = job.done;
      state.textContent = 'Working: ' + job.done + ' of ' + job.total + ' done.';
      if (job.status === 'queued' || job.status === 'running') setTimeout(poll, 700);
      else window.location.reload();
    }).catch(() => setTimeout(poll, 2000));
  }
  setTimeout(poll, 500);
})();
