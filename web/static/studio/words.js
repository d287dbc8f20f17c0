// Timers and dates in words a process owner reads, and the expressions the engine runs (both ways).
// "6 weeks" <-> "P6W"; "1 calendar month after decision_date" <-> add_months(decision_date, 1).
(function () {
  'use strict';

  const DURATION_UNITS = [
    { word: 'week', iso: 'W', time: false },
    { word: 'day', iso: 'D', time: false },
    { word: 'hour', iso: 'H', time: true },
    { word: 'minute', iso: 'M', time: true },
  ];
  const DATE_FUNCTIONS = [
    { words: 'calendar month', fn: 'add_months' },
    { words: 'working day', fn: 'add_working_days' },
    { words: 'week', fn: 'add_weeks' },
    { words: 'day', fn: 'add_days' },
  ];

  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  function unquote(text) {
    const t = (text || '').trim();
    const m = /^(["'])(.*)\1$/.exec(t);
    return m ? m[2] : null;
  }

  // '"P6W"' -> '6 weeks'; null when the expression is not a simple duration.
  function durationToWords(expression) {
    const iso = unquote(expression);
    if (!iso) return null;
    const m = /^P(?:(\d+)W|(\d+)D|T(\d+)H|T(\d+)M)$/.exec(iso);
    if (!m) return null;
    if (m[1]) return plural(+m[1], 'week');
    if (m[2]) return plural(+m[2], 'day');
    if (m[3]) return plural(+m[3], 'hour');
    return plural(+m[4], 'minute');
  }

  // '6 weeks' -> '"P6W"'; null when the words are not understood.
  function wordsToDuration(words) {
    const m = /^\s*(\d+)\s*(weeks?|days?|hours?|minutes?)\s*$/i.exec(words || '');
    if (!m) return null;
    const unit = DURATION_UNITS.find(u => m[2].toLowerCase().startsWith(u.word));
    return '"P' + (unit.time ? 'T' : '') + (+m[1]) + unit.iso + '"';
  }

  // 'add_months(decision_date, 1)' -> '1 calendar month after decision_date'.
  function dateToWords(expression) {
    const m = /^\s*(add_months|add_working_days|add_weeks|add_days)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(\d+)\s*\)\s*$/
      .exec(expression || '');
    if (!m) return null;
    const fn = DATE_FUNCTIONS.find(f => f.fn === m[1]);
    return plural(+m[3], fn.words) + ' after ' + m[2];
  }

  // '1 calendar month after decision_date' -> 'add_months(decision_date, 1)'.
  function wordsToDate(words) {
    const m = /^\s*(\d+)\s+(calendar months?|working days?|weeks?|days?)\s+after\s+(?:the\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/i
      .exec(words || '');
    if (!m) return null;
    const unit = m[2].toLowerCase();
    const fn = DATE_FUNCTIONS.find(f => unit.startsWith(f.words));
    return fn.fn + '(' + m[3] + ', ' + (+m[1]) + ')';
  }

  window.StudioWords = { durationToWords, wordsToDuration, dateToWords, wordsToDate };
})();
