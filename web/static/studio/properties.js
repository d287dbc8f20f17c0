// The studio's properties panel: what a process owner sets on an element, without touching XML.
// Every change goes through bpmn-js's command stack, so Ctrl+Z undoes it. All text is set with textContent:
// names and documentation from an uploaded diagram never run as HTML.
(function () {
  'use strict';

  const SPIFF = 'spiffworkflow';
  const SHOWN = ['formJsonSchemaFilename', 'formUiSchemaFilename', 'week', 'clock', 'notify', 'notice', 'message'];
  const HUMAN = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:Task'];
  const NOTICE_KINDS = [['', '(not a notification)'], ['reminder', 'Reminder'], ['escalation', 'Escalation'],
    ['information', 'Information']];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === 'text') node.textContent = v;
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
    });
    (children || []).forEach(c => c && node.appendChild(c));
    return node;
  }

  function typeInWords(type) {
    return type.replace(/^bpmn:/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  }

  class PropertiesPanel {
    constructor(modeler, container, config) {
      this.modeler = modeler;
      this.container = container;
      this.config = config;
      this.modeling = modeler.get('modeling');
      this.moddle = modeler.get('moddle');
      this.counter = 0;
      modeler.on('selection.changed', e => this.show(e.newSelection.length === 1 ? e.newSelection[0] : null));
      modeler.on('commandStack.changed', () => { if (this.element) this.show(this.element, true); });
    }

    id(suffix) { this.counter += 1; return 'prop-' + suffix + '-' + this.counter; }

    // ---- reading and writing spiffworkflow:properties ----
    props(bo) {
      const found = {};
      const ext = bo.extensionElements;
      (ext && ext.values || []).forEach(v => {
        if (v.$type === SPIFF + ':Properties') (v.properties || []).forEach(p => { found[p.name] = p.value; });
      });
      return found;
    }

    setProp(element, name, value) {
      const bo = element.businessObject;
      const current = this.props(bo);
      if (value === '' || value === null || value === undefined) delete current[name];
      else current[name] = String(value);
      const others = (bo.extensionElements && bo.extensionElements.values || [])
        .filter(v => v.$type !== SPIFF + ':Properties');
      const names = Object.keys(current);
      const values = names.length ? others.concat([this.moddle.create(SPIFF + ':Properties', {
        properties: names.map(n => this.moddle.create(SPIFF + ':Property', { name: n, value: current[n] })),
      })]) : others;
      const ext = values.length ? this.moddle.create('bpmn:ExtensionElements', { values }) : undefined;
      this.modeling.updateProperties(element, { extensionElements: ext });
    }

    // ---- rendering ----
    show(element, keepFocus) {
      const active = keepFocus && document.activeElement && document.activeElement.id;
      this.element = element;
      this.container.replaceChildren();
      this.counter = 0;
      if (!element || element.type === 'label') {
        this.container.appendChild(el('p', { class: 'muted', text: 'Select an element to see and change its properties.' }));
        return;
      }
      const bo = element.businessObject;
      const editable = !!this.config.editable;
      const form = el('div', { class: 'prop-form' });
      form.appendChild(el('h2', { text: typeInWords(element.type) }));
      form.appendChild(el('p', { class: 'muted', text: 'Id ' + bo.id }));
      if (element.type !== 'bpmn:Process' && element.type !== 'bpmn:Collaboration') {
        if (element.type === 'bpmn:Lane') this.laneField(form, element);
        else this.text(form, 'Name', bo.name || '', v => this.modeling.updateProperties(element, { name: v }));
      }
      this.lanePlace(form, element);
      if (HUMAN.includes(element.type)) this.humanFields(form, element);
      this.timerFields(form, element);
      if (element.type === 'bpmn:SequenceFlow') this.conditionField(form, element);
      if (element.type === 'bpmn:ScriptTask') {
        this.area(form, 'Script (restricted language: assignments like x = add_weeks(start, 6))', bo.script || '',
          v => this.modeling.updateProperties(element, { script: v }));
      }
      this.multiInstance(form, element);
      this.notification(form, element);
      const docs = (bo.documentation || []).map(d => d.text).join('\n');
      this.area(form, 'Documentation (the procedure paragraph this implements; people see it on the task)', docs,
        v => this.modeling.updateProperties(element, {
          documentation: v ? [this.moddle.create('bpmn:Documentation', { text: v })] : [],
        }));
      this.otherProps(form, element);
      if (!editable) form.querySelectorAll('input, select, textarea, button').forEach(i => { i.disabled = true; });
      this.container.appendChild(form);
      if (active && document.getElementById(active)) document.getElementById(active).focus();
    }

    text(parent, label, value, apply, opts) {
      const id = this.id('text');
      const input = el('input', Object.assign({ id, value: value }, opts || {}));
      input.addEventListener('change', () => apply(input.value.trim()));
      parent.appendChild(el('label', { for: id, text: label }));
      parent.appendChild(input);
      return input;
    }

    area(parent, label, value, apply) {
      const id = this.id('area');
      const input = el('textarea', { id, rows: 4 });
      input.value = value;
      input.addEventListener('change', () => apply(input.value));
      parent.appendChild(el('label', { for: id, text: label }));
      parent.appendChild(input);
    }

    select(parent, label, value, options, apply) {
      const id = this.id('select');
      const input = el('select', { id });
      options.forEach(([v, t]) => {
        const o = el('option', { value: v, text: t });
        if (v === value) o.selected = true;
        input.appendChild(o);
      });
      if (value && !options.some(([v]) => v === value)) {
        const o = el('option', { value, text: value + ' (not in the catalogue)' });
        o.selected = true;
        input.appendChild(o);
      }
      input.addEventListener('change', () => apply(input.value));
      parent.appendChild(el('label', { for: id, text: label }));
      parent.appendChild(input);
      return input;
    }

    laneField(form, element) {
      const lanes = [['', '(choose a role)']].concat(this.config.lanes.map(l => [l, l]));
      this.select(form, 'Lane: the role that does the work in it', element.businessObject.name || '', lanes,
        v => this.modeling.updateProperties(element, { name: v }));
    }

    lanePlace(form, element) {
      if (element.type === 'bpmn:Lane' || !element.businessObject.$instanceOf('bpmn:FlowNode')) return;
      let shape = element.parent;
      while (shape && shape.type !== 'bpmn:Lane' && shape.type !== 'bpmn:Participant') shape = shape.parent;
      const lanes = element.businessObject.lanes || [];
      const name = lanes.length ? lanes[lanes.length - 1].name : (shape && shape.type === 'bpmn:Lane' ? shape.businessObject.name : null);
      form.appendChild(el('p', { class: 'lane-of', text: name ? 'Lane: ' + name + ' (drag it to another lane to give it to another role)'
        : 'In no lane: drag it into the lane of the role that does it.' }));
    }

    humanFields(form, element) {
      const props = this.props(element.businessObject);
      const forms = [['', '(no form)']].concat(this.config.forms.map(f => [f, f]));
      this.select(form, 'Form (what the person fills in)', props.formJsonSchemaFilename || '', forms,
        v => this.setProp(element, 'formJsonSchemaFilename', v));
      if (props.formJsonSchemaFilename && this.config.formEditor) {
        form.appendChild(el('a', { class: 'small', href: this.config.formEditor.replace('NAME', props.formJsonSchemaFilename),
          text: 'Edit this form' }));
      }
      this.text(form, 'Target week (weeks after the clock anchor)', props.week || '',
        v => this.setProp(element, 'week', v), { inputmode: 'numeric' });
      this.text(form, 'Clock anchor (the date field weeks count from)', props.clock || '',
        v => this.setProp(element, 'clock', v));
    }

    timerFields(form, element) {
      const defs = element.businessObject.eventDefinitions || [];
      const timer = defs.find(d => d.$type === 'bpmn:TimerEventDefinition');
      if (!timer) return;
      const kind = timer.timeDate ? 'timeDate' : timer.timeCycle ? 'timeCycle' : 'timeDuration';
      const body = (timer[kind] && timer[kind].body) || '';
      const box = el('fieldset', { class: 'timer' }, [el('legend', { text: 'Timer' })]);
      const setBody = (which, value) => {
        const update = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
        update[which] = this.moddle.create('bpmn:FormalExpression', { body: value });
        this.modeling.updateModdleProperties(element, timer, update);
      };
      this.select(box, 'Fires', kind, [['timeDuration', 'after a wait'], ['timeDate', 'on a date'],
        ['timeCycle', 'repeatedly']], v => setBody(v, body));
      if (kind === 'timeDuration') {
        const input = this.text(box, 'Wait (for example “6 weeks”, “10 days”)', StudioWords.durationToWords(body) || '', v => {
          const iso = StudioWords.wordsToDuration(v);
          if (iso) setBody('timeDuration', iso); else this.warn(input, 'Say a number and weeks, days, hours or minutes.');
        });
      } else if (kind === 'timeDate') {
        const input = this.text(box, 'Date (for example “1 calendar month after decision_date”)',
          StudioWords.dateToWords(body) || '', v => {
            const expr = StudioWords.wordsToDate(v);
            if (expr) setBody('timeDate', expr);
            else this.warn(input, 'Say a number, then calendar months, working days, weeks or days, then “after” and a date field.');
          });
      }
      this.text(box, 'As the engine reads it', body, v => setBody(kind, v));
      form.appendChild(box);
    }

    warn(input, message) {
      input.setAttribute('aria-invalid', 'true');
      const note = el('p', { class: 'error', role: 'alert', text: message });
      input.insertAdjacentElement('afterend', note);
    }

    conditionField(form, element) {
      const bo = element.businessObject;
      const src = bo.sourceRef;
      if (!src || !/Gateway$/.test(src.$type)) return;
      this.text(form, 'Condition (for example decision == "scr")', (bo.conditionExpression && bo.conditionExpression.body) || '',
        v => this.modeling.updateProperties(element, {
          conditionExpression: v ? this.moddle.create('bpmn:FormalExpression', { body: v }) : undefined,
        }));
    }

    multiInstance(form, element) {
      const loop = element.businessObject.loopCharacteristics;
      if (!loop || loop.$type !== 'bpmn:MultiInstanceLoopCharacteristics') return;
      const ref = loop.loopDataInputRef;
      const name = ref && (ref.id || ref.name || ref) || '';
      const item = loop.inputDataItem && (loop.inputDataItem.name || loop.inputDataItem.id) || '';
      form.appendChild(el('p', { class: 'lane-of', text: 'Once for each item of “' + name + '”, as “' + item + '”' +
        (loop.isSequential ? ', one after another.' : ', all at once.') }));
      this.text(form, 'Collection (the list field: one instance per item)', name, v => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return;
        this.modeling.updateModdleProperties(element, loop, {
          loopDataInputRef: this.moddle.create('bpmn:DataInput', { id: v }),
        });
      });
      this.select(form, 'Run the items', loop.isSequential ? 'seq' : 'par', [['par', 'all at once'], ['seq', 'one after another']],
        v => this.modeling.updateModdleProperties(element, loop, { isSequential: v === 'seq' }));
    }

    notification(form, element) {
      const props = this.props(element.businessObject);
      const box = el('fieldset', { class: 'notice' }, [el('legend', { text: 'Notification' })]);
      const roles = [['', '(nobody)']].concat(this.config.roles.map(r => [r.role, r.title]));
      this.select(box, 'Tell', props.notify || '', roles, v => this.setProp(element, 'notify', v));
      this.select(box, 'Kind', props.notice || '', NOTICE_KINDS, v => this.setProp(element, 'notice', v));
      this.area(box, 'Message (no names or identifying details)', props.message || '', v => this.setProp(element, 'message', v));
      form.appendChild(box);
    }

    otherProps(form, element) {
      const props = this.props(element.businessObject);
      const box = el('fieldset', { class: 'other' }, [el('legend', { text: 'Other properties (see bpmn/README.md)' })]);
      Object.keys(props).filter(n => !SHOWN.includes(n)).forEach(n => {
        this.text(box, n, props[n], v => this.setProp(element, n, v));
      });
      const row = el('div', { class: 'inline' });
      const nameId = this.id('newname');
      const name = el('input', { id: nameId, placeholder: 'name, e.g. due' });
      const value = el('input', { 'aria-label': 'value', placeholder: 'value' });
      const add = el('button', { type: 'button', text: 'Add' });
      add.addEventListener('click', () => { if (name.value.trim()) this.setProp(element, name.value.trim(), value.value); });
      row.append(el('label', { for: nameId, text: 'New property' }), name, value, add);
      box.appendChild(row);
      form.appendChild(box);
    }
  }

  window.StudioProperties = PropertiesPanel;
})();
