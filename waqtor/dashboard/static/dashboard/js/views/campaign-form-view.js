// The new-campaign form: name, session, message (a text, a file, or both), recipients (a CSV file or a pasted list), pace and an
// optional schedule. Preview asks the gateway to check it (a dry run): every row it leaves out with the
// reason, and the first messages as they would be sent. Create then sends what the preview showed; any
// change to the form asks for a new preview first.

import { campaignDefinition, pastedCsv } from '../lib/campaign-rules.js';
import { $, fill, h } from '../lib/dom.js';
import { errorFields, errorText } from '../lib/format.js';

const FIELDS = {
  name: 'cf-name', session: 'cf-session', text: 'cf-text', media: 'cf-media', csv: 'cf-csv', paste: 'cf-paste',
  minDelay: 'cf-min-delay', maxDelay: 'cf-max-delay', perMinute: 'cf-per-minute', perHour: 'cf-per-hour',
  perDay: 'cf-per-day', stopAfter: 'cf-stop-after', checkWhatsApp: 'cf-check-whatsapp', startAt: 'cf-start-at',
  windowStart: 'cf-window-start', windowEnd: 'cf-window-end', timezone: 'cf-timezone', days: 'cf-days',
  start: 'cf-start',
};
// The field of the form each name in a validation error (its last part) is about.
const ERROR_FIELDS = {
  message: 'text', throttle: 'maxDelay', stopAfterFailures: 'stopAfter', window: 'windowStart', start: 'windowStart',
  end: 'windowEnd', recipients: 'csv',
};
const CODE_FIELDS = { invalid_csv: 'csv', no_phone_column: 'csv', no_recipients: 'csv', too_many_recipients: 'csv',
  payload_too_large: 'csv', session_not_found: 'session', invalid_template: 'text', media_too_large: 'media',
  media_type_mismatch: 'media', empty_media: 'media', unsupported_media_type: 'media' };

export class CampaignFormView {
  #checked = false; // the preview on show is of the form as it stands, and some row can be sent

  /** `onCheck(definition, file, fileName, media)` and `onCreate(…)` resolve to the gateway's answer
   * `{campaign, report, preview}` (a dry run, and the real thing); `media` is the chosen File or null. */
  constructor(form, store, { onCheck, onCreate, signal }) {
    this.form = form;
    this.store = store;
    this.onCheck = onCheck;
    this.onCreate = onCreate;
    this.fields = Object.fromEntries(Object.entries(FIELDS).map(([name, id]) => [name, $(id)]));
    this.preview = $('cf-preview');
    this.create = $('cf-create');
    this.error = $('cf-error');
    this.report = $('cf-report');
    this.fields.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
    fill(this.report); // nothing left from before a sign-out
    this.#clear();
    this.#setChecked(false);
    store.addEventListener('change', (event) => {
      if (event.detail === 'campaign-page') this.render();
      if (event.detail === 'sessions' || event.detail === 'selected') this.#renderSessions();
    }, { signal });
    const changed = () => this.#setChecked(false);
    form.addEventListener('input', changed, { signal });
    form.addEventListener('change', changed, { signal });
    this.preview.addEventListener('click', () => this.#check(), { signal });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#create();
    }, { signal });
    $('cf-cancel').addEventListener('click', () => store.campaigns.show('list'), { signal });
  }

  render() {
    const shown = this.store.campaigns.page.view === 'new';
    const opening = shown && this.form.hidden;
    this.form.hidden = !shown;
    this.#renderSessions();
    if (opening) this.fields.name.focus();
  }

  #renderSessions() {
    const select = this.fields.session;
    const names = [...this.store.sessions.keys()].sort();
    const current = select.value || this.store.selected;
    if ([...select.options].map((option) => option.value).join('\n') !== names.join('\n')) {
      fill(select, names.map((name) => h('option', { value: name }, name)));
    }
    select.value = names.includes(current) ? current : names[0] ?? '';
  }

  /** The form as `{definition, file, fileName, media, offset, unit}`, or null after showing what is missing. */
  #collect() {
    const values = Object.fromEntries(Object.entries(this.fields).map(([name, el]) => [
      name, el.type === 'checkbox' ? el.checked : el.value]));
    values.days = [...this.fields.days.querySelectorAll('input:checked')].map((box) => box.value);
    const file = this.fields.csv.files[0] ?? null;
    const media = this.fields.media.files[0] ?? null;
    values.media = Boolean(media);
    const pasted = values.paste.trim();
    if (!values.name.trim()) return this.#fail('Give the campaign a name.', ['name']);
    if (!values.text.trim() && !media) return this.#fail('Write the message to send, or choose a file.', ['text', 'media']);
    if (!file && !pasted) return this.#fail('Choose a CSV file or paste a list of numbers.', ['csv', 'paste']);
    if (file && pasted) return this.#fail('Choose a CSV file or paste a list, not both.', ['csv', 'paste']);
    const definition = campaignDefinition(values);
    if (file) return { definition, file, fileName: file.name, media, offset: 0, unit: 'Row' };
    const { csv, offset } = pastedCsv(pasted);
    return { definition, file: new Blob([csv], { type: 'text/csv' }), fileName: 'pasted.csv', media, offset, unit: 'Line' };
  }

  async #check() {
    this.#clear();
    const draft = this.#collect();
    if (!draft) return;
    await this.#busy(this.preview, 'Checking…', async () => {
      const answer = await this.onCheck(draft.definition, draft.file, draft.fileName, draft.media);
      this.#showReport(answer.report, answer.preview, draft);
      this.#setChecked(answer.report.accepted > 0);
    }, draft);
  }

  async #create() {
    if (!this.#checked) return;
    this.#clear();
    const draft = this.#collect();
    if (!draft) return;
    await this.#busy(this.create, 'Creating…', async () => {
      await this.onCreate(draft.definition, draft.file, draft.fileName, draft.media);
      this.form.reset();
      this.fields.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
      fill(this.report);
      this.#setChecked(false);
    }, draft);
  }

  async #busy(button, label, work, draft) {
    const idle = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try {
      await work();
    } catch (error) {
      if (error.code === 'no_recipients' && error.details?.problems) this.#showReport(error.details, [], draft);
      const fields = errorFields(error, CODE_FIELDS).map((name) => ERROR_FIELDS[name] ?? name);
      this.#fail(errorText(error), fields, error.code);
    } finally {
      button.textContent = idle;
      button.disabled = button === this.create && !this.#checked;
    }
  }

  #setChecked(checked) {
    this.#checked = checked;
    this.create.disabled = !checked;
  }

  #showReport(report, preview, { offset, unit }) {
    const counts = Object.entries(report.problemCounts ?? {}).map(([code, n]) => `${n} ${code.replaceAll('_', ' ')}`);
    const variables = report.columns ?? [];
    fill(this.report,
      h('p', { class: 'report-summary', dataset: { role: 'summary' } },
        h('strong', {}, `${report.accepted} of ${report.rows} ${unit.toLowerCase()}${report.rows === 1 ? '' : 's'} will be sent`),
        report.rejected ? `; ${report.rejected} left out (${counts.join(', ')}).` : '; none left out.'),
      variables.length ? h('p', { class: 'hint' }, 'Variables from the columns: ',
        variables.map(({ header, variable }, i) => [i ? ', ' : '', h('code', {}, `{${variable}}`), ` (${header})`])) : null,
      report.problems?.length ? h('table', { class: 'data problems' },
        h('thead', {}, h('tr', {}, [unit, 'Number', 'Problem', 'Why'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, report.problems.map((problem) => h('tr', { dataset: { code: problem.code } },
          h('td', {}, String(problem.row - offset)),
          h('td', { class: 'phone' }, problem.input ?? ''),
          h('td', {}, h('span', { class: 'rstatus r-failed' }, problem.code)),
          h('td', {}, problem.message))))) : null,
      report.problemsTruncated ? h('p', { class: 'hint' }, `Only the first ${report.problems.length} problems are listed; ${report.problemsOmitted} more are counted above.`) : null,
      preview?.length ? h('div', { class: 'previews' },
        h('h4', {}, `The first ${preview.length === 1 ? 'message' : `${preview.length} messages`}, as they would be sent now`),
        h('ol', { class: 'preview-list' }, preview.map((item) => h('li', { class: 'preview' },
          h('div', { class: 'message-head' }, h('strong', {}, item.phone), item.name ? h('span', { class: 'push-name' }, item.name) : null),
          h('p', { class: 'body' }, item.text ?? ''))))) : null);
  }

  #clear() {
    this.error.hidden = true;
    for (const el of Object.values(this.fields)) el.removeAttribute('aria-invalid');
  }

  #fail(message, fields = [], code = null) {
    this.error.hidden = false;
    fill(this.error, message, code ? h('span', { class: 'code' }, code) : null);
    for (const name of fields) this.fields[name]?.setAttribute('aria-invalid', 'true');
    fields.map((name) => this.fields[name]).find(Boolean)?.focus();
    return null;
  }
}
