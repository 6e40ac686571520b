// Brook's web console: one page over the broker's /ui/api routes, no framework, no build step.
// Views are chosen by the URL's hash (#/topics, #/topic/NAME, #/groups, #/group/ID, #/brokers);
// every value shown is put in the page as text, never as HTML.
/* global document, window, location, fetch, confirm, FormData, URLSearchParams, Node -- a browser script */

const view = document.getElementById('view');
const problem = document.getElementById('problem');
let overview = { writesEnabled: false, brokers: [], controllerId: -1 };
let refreshTimer = null;

/** An element: h('td', { class: 'number' }, 42). Attributes starting with "on" are listeners. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== undefined && value !== null && value !== false)
      element.setAttribute(name, String(value));
  }
  for (const child of children.flat())
    element.append(child instanceof Node ? child : String(child ?? ''));
  return element;
}

function table(headings, rows, testId) {
  return h(
    'table',
    { 'data-testid': testId },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((heading) => h('th', {}, heading)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

const numberCell = (value) => h('td', { class: 'number' }, value ?? '–');

function bytes(count) {
  if (count === null || count === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

async function api(path, body) {
  const response = await fetch(
    `/ui/api/${path}`,
    body === undefined
      ? {}
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
  );
  const value = await response.json();
  if (!response.ok) throw new Error(value.detail ?? value.error ?? `HTTP ${response.status}`);
  return value;
}

/** Runs an action, showing its failure in the problem line instead of losing it. */
async function attempt(action) {
  problem.textContent = '';
  try {
    return await action();
  } catch (error) {
    problem.textContent = error.message;
    return undefined;
  }
}

/** "k=v" lines as an object (configs, headers). */
function pairs(text) {
  const result = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const at = trimmed.indexOf('=');
    if (at <= 0) throw new Error(`"${trimmed}" is not name=value`);
    result[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return result;
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function writeButton(label, onclick, extra = {}) {
  return h(
    'button',
    {
      type: extra.type ?? 'button',
      onclick,
      disabled: !overview.writesEnabled,
      title: overview.writesEnabled ? '' : 'console.writes.enabled is off',
      ...extra,
    },
    label,
  );
}

// ─────────────────────────── views ───────────────────────────

async function brokersView() {
  const rows = overview.brokers.map((broker) =>
    h(
      'tr',
      {},
      numberCell(broker.nodeId),
      h('td', {}, broker.host),
      numberCell(broker.port),
      h('td', {}, broker.rack ?? ''),
      h('td', {}, broker.nodeId === overview.controllerId ? 'controller' : ''),
    ),
  );
  return [
    h('h2', {}, `Cluster ${overview.clusterId ?? ''}`),
    table(['node', 'host', 'port', 'rack', 'role'], rows, 'brokers'),
  ];
}

async function topicsView() {
  const topics = await api('topics');
  const rows = topics.map((topic) =>
    h(
      'tr',
      { 'data-topic': topic.name },
      h('td', {}, h('a', { href: `#/topic/${encodeURIComponent(topic.name)}` }, topic.name)),
      numberCell(topic.partitions),
      numberCell(topic.messages),
      h('td', { class: 'number' }, bytes(topic.sizeBytes)),
      h('td', {}, topic.internal ? 'internal' : ''),
      h(
        'td',
        {},
        topic.internal
          ? ''
          : writeButton(
              'Delete',
              async () => {
                if (!confirm(`Delete topic ${topic.name} and all its records?`)) return;
                await attempt(() => api('topics/delete', { name: topic.name }));
                render();
              },
              { class: 'danger', 'data-testid': `delete-${topic.name}` },
            ),
      ),
    ),
  );
  const form = h(
    'form',
    {
      'data-testid': 'create-topic',
      onsubmit: async (event) => {
        event.preventDefault();
        const values = formValues(event.target);
        const created = await attempt(() =>
          api('topics', {
            name: values.name,
            partitions: values.partitions,
            replicationFactor: values.replicationFactor,
            configs: pairs(values.configs),
          }),
        );
        if (created !== undefined) render();
      },
    },
    h('label', {}, 'name', h('input', { name: 'name', required: true })),
    h(
      'label',
      {},
      'partitions',
      h('input', { name: 'partitions', type: 'number', min: 1, value: 1 }),
    ),
    h(
      'label',
      {},
      'replication factor',
      h('input', { name: 'replicationFactor', type: 'number', min: 1, value: 1 }),
    ),
    h(
      'label',
      {},
      'configs (name=value lines)',
      h('textarea', { name: 'configs', rows: 2, cols: 30 }),
    ),
    writeButton('Create topic', undefined, { type: 'submit' }),
  );
  return [
    h('h2', {}, 'Topics'),
    table(['topic', 'partitions', 'messages', 'size', '', ''], rows, 'topics'),
    h('h2', {}, 'Create a topic'),
    form,
  ];
}

function renderValue(rendered, as, tag = 'pre') {
  if (rendered === null || rendered === undefined || rendered.hex === null)
    return h('i', {}, 'null');
  if (as === 'hex') return h(tag, {}, rendered.hex);
  if (as === 'json' && rendered.json !== undefined)
    return h(tag, {}, JSON.stringify(rendered.json, null, tag === 'pre' ? 2 : 0));
  return h(tag, {}, rendered.text ?? rendered.hex);
}

async function topicView(name) {
  const topic = await api(`topic?name=${encodeURIComponent(name)}`);
  const partitionRows = topic.partitions.map((partition) =>
    h(
      'tr',
      {},
      numberCell(partition.partition),
      numberCell(partition.leader),
      h('td', {}, partition.replicas.join(', ')),
      h('td', {}, partition.isr.join(', ')),
      numberCell(partition.logStartOffset),
      numberCell(partition.highWatermark),
      numberCell(partition.logEndOffset),
      h('td', { class: 'number' }, bytes(partition.sizeBytes)),
      numberCell(partition.segments),
    ),
  );
  const configRows = topic.configs.map((config) =>
    h(
      'tr',
      {},
      h('td', {}, config.overridden ? h('b', {}, config.name) : config.name),
      h('td', {}, config.value ?? '(sensitive)'),
    ),
  );
  const partitionOptions = () =>
    topic.partitions.map((partition) =>
      h('option', { value: partition.partition }, partition.partition),
    );

  const messages = h('div', { 'data-testid': 'messages' });
  const browse = h(
    'form',
    {
      'data-testid': 'browse',
      onsubmit: async (event) => {
        event.preventDefault();
        const values = formValues(event.target);
        const query = new URLSearchParams({
          topic: name,
          partition: values.partition,
          limit: values.limit,
        });
        if (values.from === 'time' && values.time !== '')
          query.set('timestamp', String(new Date(values.time).getTime()));
        else if (values.from === 'offset' && values.offset !== '')
          query.set('offset', values.offset);
        const page = await attempt(() => api(`messages?${query}`));
        if (page === undefined) return;
        const rows = page.records.map((record) =>
          h(
            'tr',
            { 'data-offset': record.offset },
            numberCell(record.offset),
            h('td', {}, new Date(record.timestamp).toISOString()),
            h('td', {}, renderValue(record.key, values.as)),
            h('td', {}, renderValue(record.value, values.as)),
            h(
              'td',
              {},
              record.headers.map((header) =>
                h('div', {}, `${header.key}: `, renderValue(header.value, values.as, 'code')),
              ),
            ),
          ),
        );
        messages.replaceChildren(
          h(
            'p',
            {},
            `${page.records.length} records from offset ${page.from} (high watermark ${page.highWatermark})`,
          ),
          table(['offset', 'timestamp', 'key', 'value', 'headers'], rows, 'message-table'),
        );
      },
    },
    h('label', {}, 'partition', h('select', { name: 'partition' }, partitionOptions())),
    h(
      'label',
      {},
      'from',
      h(
        'select',
        { name: 'from' },
        h('option', { value: 'beginning' }, 'the beginning'),
        h('option', { value: 'offset' }, 'an offset'),
        h('option', { value: 'time' }, 'a time'),
      ),
    ),
    h('label', {}, 'offset', h('input', { name: 'offset', type: 'number', min: 0 })),
    h('label', {}, 'time', h('input', { name: 'time', type: 'datetime-local', step: 1 })),
    h(
      'label',
      {},
      'records',
      h('input', { name: 'limit', type: 'number', min: 1, max: 500, value: 50 }),
    ),
    h(
      'label',
      {},
      'show values as',
      h(
        'select',
        { name: 'as' },
        h('option', { value: 'text' }, 'text'),
        h('option', { value: 'json' }, 'JSON'),
        h('option', { value: 'hex' }, 'hex'),
      ),
    ),
    h('button', { type: 'submit', 'data-testid': 'browse-submit' }, 'Show messages'),
  );
  const produce = h(
    'form',
    {
      'data-testid': 'produce',
      onsubmit: async (event) => {
        event.preventDefault();
        const values = formValues(event.target);
        const result = await attempt(() =>
          api('produce', {
            topic: name,
            partition: values.partition,
            key: values.key === '' ? undefined : values.key,
            value: values.value,
            headers: pairs(values.headers),
          }),
        );
        if (result !== undefined) {
          problem.textContent = '';
          document.getElementById('produced').textContent =
            `produced at offset ${result.offset} of partition ${result.partition}`;
        }
      },
    },
    h('label', {}, 'partition', h('select', { name: 'partition' }, partitionOptions())),
    h('label', {}, 'key', h('input', { name: 'key' })),
    h('label', {}, 'value', h('textarea', { name: 'value', rows: 2, cols: 40 })),
    h(
      'label',
      {},
      'headers (name=value lines)',
      h('textarea', { name: 'headers', rows: 2, cols: 24 }),
    ),
    writeButton('Produce', undefined, { type: 'submit' }),
    h('span', { id: 'produced', 'data-testid': 'produced' }),
  );
  return [
    h('h2', {}, `Topic ${topic.name}`, topic.internal ? ' (internal)' : ''),
    table(
      [
        'partition',
        'leader',
        'replicas',
        'ISR',
        'log start',
        'high watermark',
        'log end',
        'size',
        'segments',
      ],
      partitionRows,
      'partitions',
    ),
    h('h2', {}, 'Messages'),
    browse,
    messages,
    h('h2', {}, 'Produce a test message'),
    produce,
    h('h2', {}, 'Configs (overrides in bold)'),
    table(['name', 'value'], configRows, 'configs'),
  ];
}

async function groupsView() {
  const groups = await api('groups');
  const rows = groups.map((group) =>
    h(
      'tr',
      { 'data-group': group.groupId },
      h('td', {}, h('a', { href: `#/group/${encodeURIComponent(group.groupId)}` }, group.groupId)),
      h('td', {}, group.state),
      numberCell(group.members),
      numberCell(group.lag),
    ),
  );
  return [
    h('h2', {}, 'Consumer groups'),
    table(['group', 'state', 'members', 'lag'], rows, 'groups'),
  ];
}

async function groupTables(id) {
  const group = await api(`group?id=${encodeURIComponent(id)}`);
  const memberRows = group.members.map((member) =>
    h(
      'tr',
      {},
      h('td', {}, member.memberId),
      h('td', {}, member.clientId),
      h('td', {}, member.clientHost),
      h(
        'td',
        {},
        member.assignment
          .map((entry) => `${entry.topic}: ${entry.partitions.join(', ')}`)
          .join('; '),
      ),
    ),
  );
  const offsetRows = group.offsets.map((offset) =>
    h(
      'tr',
      { 'data-partition': `${offset.topic}-${offset.partition}` },
      h('td', {}, offset.topic),
      numberCell(offset.partition),
      numberCell(offset.committedOffset),
      numberCell(offset.logEndOffset),
      h(
        'td',
        { class: 'number', 'data-testid': `lag-${offset.topic}-${offset.partition}` },
        offset.lag ?? '–',
      ),
    ),
  );
  return [
    h(
      'p',
      { 'data-testid': 'group-state' },
      `state ${group.state}, protocol ${group.protocol || '–'}`,
    ),
    h('h2', {}, 'Members'),
    table(['member', 'client id', 'host', 'assignment'], memberRows, 'members'),
    h('h2', {}, 'Offsets and lag'),
    table(['topic', 'partition', 'committed', 'log end', 'lag'], offsetRows, 'offsets'),
  ];
}

async function groupView(id) {
  const tables = h('div', {}, await groupTables(id));
  // The tables follow the group as it consumes; the reset form below keeps what was typed.
  refreshTimer = setInterval(async () => {
    const fresh = await groupTables(id).catch(() => null);
    if (fresh !== null) tables.replaceChildren(...fresh);
  }, 5000);
  const reset = h(
    'form',
    {
      'data-testid': 'reset-offsets',
      onsubmit: async (event) => {
        event.preventDefault();
        const values = formValues(event.target);
        const body = { group: id, topic: values.topic, to: values.to };
        if (values.to === 'offset') body.offset = values.value;
        if (values.to === 'timestamp') body.timestamp = String(new Date(values.value).getTime());
        const result = await attempt(() => api('groups/reset-offsets', body));
        if (result !== undefined) tables.replaceChildren(...(await groupTables(id)));
      },
    },
    h('label', {}, 'topic', h('input', { name: 'topic', required: true })),
    h(
      'label',
      {},
      'to',
      h(
        'select',
        { name: 'to' },
        ['earliest', 'latest', 'offset', 'timestamp'].map((to) => h('option', { value: to }, to)),
      ),
    ),
    h('label', {}, 'offset or time (ISO)', h('input', { name: 'value' })),
    writeButton('Reset offsets', undefined, { type: 'submit' }),
  );
  return [
    h('h2', {}, `Group ${id}`),
    tables,
    h('h2', {}, 'Reset offsets (the group must be empty)'),
    reset,
  ];
}

// ─────────────────────────── the chart ───────────────────────────

async function drawChart() {
  const history = await api('history').catch(() => null);
  if (history === null) return;
  const canvas = document.getElementById('chart');
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const samples = history.samples;
  if (samples.length === 0) return;
  const spanMs = Math.max(history.intervalMs * 119, 1);
  const endMs = samples[samples.length - 1].timeMs;
  const line = (values, color) => {
    const max = Math.max(1, ...values);
    context.strokeStyle = color;
    context.lineWidth = 2;
    context.beginPath();
    samples.forEach((sample, index) => {
      const x = width - ((endMs - sample.timeMs) / spanMs) * width;
      const y = height - 8 - (values[index] / max) * (height - 16);
      if (index === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
  };
  line(
    samples.map((sample) => sample.messagesInPerSecond),
    '#2a6fdb',
  );
  line(
    samples.map((sample) => sample.lag),
    '#d9822b',
  );
  const latest = samples[samples.length - 1];
  document.getElementById('chart-latest').textContent =
    ` — now: ${latest.messagesInPerSecond.toFixed(1)} messages/s in, lag ${latest.lag}`;
}

// ─────────────────────────── routing ───────────────────────────

async function render() {
  if (refreshTimer !== null) clearInterval(refreshTimer);
  refreshTimer = null;
  const [, page = 'topics', ...rest] = location.hash.split('/');
  const argument = decodeURIComponent(rest.join('/'));
  const views = {
    brokers: brokersView,
    topics: topicsView,
    topic: () => topicView(argument),
    groups: groupsView,
    group: () => groupView(argument),
  };
  const content = await attempt(() => (views[page] ?? topicsView)());
  if (content !== undefined) view.replaceChildren(...content);
  view.dataset.loaded = page;
}

async function start() {
  overview = (await attempt(() => api('overview'))) ?? overview;
  document.getElementById('writes').textContent = overview.writesEnabled
    ? 'writes enabled'
    : 'read-only';
  window.addEventListener('hashchange', render);
  await render();
  await drawChart();
  setInterval(drawChart, 5000);
}

start();
