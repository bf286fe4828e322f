// The Exitflow console: charts fed by the server's Server-Sent Events (/console/events), one sample
// per interval; the first event carries the samples of the last minutes, so a page opened now shows
// them at once. Plain script, no build step: it ships in the jar as it is written here.
'use strict';
(() => {
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  // What tests and curious operators can read: charts, samples seen, errors caught.
  const state = window.exitflowConsole = { charts: {}, samples: 0, errors: [], about: null, tryResult: null };
  window.addEventListener('error', e => state.errors.push(String(e.message || e)));
  window.addEventListener('unhandledrejection', e => state.errors.push(String(e.reason)));

  const $ = id => document.getElementById(id);
  const fmt = (v, digits = 1) => v == null || Number.isNaN(v) ? '–' : Number(v).toFixed(digits);
  let maxPoints = 300;
  let times = [];
  let charts = [];

  /** A chart: its series read their value from a sample; extra scales for a second axis. */
  function chartSpecs(about, stages) {
    const layers = about.exit_layers;
    const perStage = (title, key, unit) => ({
      id: key, title, unit,
      series: stages.map((_, i) => ({ label: 'stage ' + (i + 1), value: s => s.stages[i] ? s.stages[i][key] : null })),
    });
    return [
      { id: 'rps', title: 'Requests/s by transport', unit: 'HTTP calls, WebSocket frames, bulk lines, Kafka records, batch lines',
        series: ['embeddings', 'embed', 'stream', 'bulk', 'kafka', 'batch']
          .map(k => ({ label: k, value: s => s.rps[k] })) },
      { id: 'latency', title: 'Latency, /v1/embeddings and /v1/embed', unit: 'ms, over the last seconds',
        series: [{ label: 'p50', value: s => s.latency_ms.p50 }, { label: 'p99', value: s => s.latency_ms.p99 }] },
      { id: 'exits', title: 'Exit mix and depth level', unit: 'share of completed inputs (stacked), level on the right',
        stacked: true,
        series: layers.map(l => ({ label: 'exit ' + l, value: s => share(s, l) })),
        extra: [{ label: 'depth level', scale: 'level', value: s => s.depth_level, dash: [6, 4] }] },
      perStage('Queue depth per stage', 'queue', 'inputs queued'),
      perStage('Service rate per stage', 'rate', 'inputs/s'),
      perStage('Batch size per stage', 'batch_size', 'mean inputs per batch'),
      perStage('Padded tokens per batch', 'padded_tokens', 'mean size x longest'),
      { id: 'rejections', title: 'Rejections and errors', unit: 'per second',
        series: [{ label: 'rejected requests', value: s => s.rejected.requests },
          { label: 'rejected inputs', value: s => s.rejected.inputs },
          { label: 'HTTP errors', value: s => s.errors_per_s }, { label: 'failed inputs', value: s => s.failed_per_s }] },
      { id: 'kafka', title: 'Kafka', unit: 'records/s, commit lag on the right',
        series: [{ label: 'consumed', value: s => s.kafka.consumed }, { label: 'produced', value: s => s.kafka.produced },
          { label: 'dead letters', value: s => s.kafka.dead_letters }],
        extra: [{ label: 'lag', scale: 'lag', value: s => s.kafka.lag, dash: [6, 4] }] },
    ];
  }

  /** An exit layer's share of the inputs completed in a sample (null when none completed). */
  function share(s, layer) {
    const total = Object.values(s.exits).reduce((a, b) => a + b, 0);
    return total > 0 ? (s.exits[String(layer)] || 0) / total : null;
  }

  function build(about, stages) {
    $('charts').textContent = '';
    charts = chartSpecs(about, stages).map(spec => {
      const card = document.createElement('div');
      card.className = 'card';
      card.id = 'chart-' + spec.id;
      const h = document.createElement('h2');
      h.textContent = spec.title + ' ';
      const unit = document.createElement('span');
      unit.className = 'muted';
      unit.textContent = spec.unit;
      h.appendChild(unit);
      card.appendChild(h);
      $('charts').appendChild(card);
      const all = spec.series.concat(spec.extra || []);
      const raw = all.map(() => []);
      const series = [{}].concat(all.map((s, i) => ({
        label: s.label, scale: s.scale || 'y', stroke: PALETTE[i % PALETTE.length], width: 1.5, dash: s.dash,
        fill: spec.stacked && !s.scale ? PALETTE[i % PALETTE.length] + '55' : undefined,
        spanGaps: false,
        // a stacked series is drawn at its cumulative height, but its legend shows its own share
        value: (u, v, si, di) => {
          const r = di == null ? null : raw[si - 1][di];
          return r == null ? '–' : spec.stacked && !s.scale ? (r * 100).toFixed(1) + '%' : fmt(r, 2);
        },
      })));
      const axes = [{}, { scale: 'y', size: 56, values: spec.stacked ? (u, ticks) => ticks.map(t => Math.round(t * 100) + '%') : undefined }];
      (spec.extra || []).forEach(e => axes.push({ scale: e.scale, side: 1, grid: { show: false }, size: 50 }));
      const scales = { x: { time: true }, y: spec.stacked ? { range: [0, 1] } : { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } };
      (spec.extra || []).forEach(e => { scales[e.scale] = { range: (u, min, max) => [0, Math.max(1, max * 1.1)] }; });
      const bands = [];
      if (spec.stacked) {
        for (let i = spec.series.length; i > 1; i--) {
          bands.push({ series: [i, i - 1] });
        }
      }
      const plot = new uPlot({ width: Math.max(300, card.clientWidth - 20), height: 200, series, axes, scales, bands,
        legend: { live: false } }, [[]].concat(all.map(() => [])), card);
      state.charts[spec.id] = plot;
      return { spec, all, raw, plot, card };
    });
  }

  function push(sample) {
    times.push(sample.t / 1000);
    for (const c of charts) {
      c.all.forEach((s, i) => {
        const v = s.value(sample);
        c.raw[i].push(v == null || Number.isNaN(v) ? null : v);
      });
    }
    if (times.length > maxPoints) {
      times = times.slice(-maxPoints);
      charts.forEach(c => c.raw.forEach((r, i) => { c.raw[i] = r.slice(-maxPoints); }));
    }
  }

  function redraw() {
    for (const c of charts) {
      let data = c.raw.map(r => r.slice());
      if (c.spec.stacked) {
        const n = c.spec.series.length;
        for (let i = 1; i < n; i++) {
          data[i] = data[i].map((v, j) => v == null ? null : v + (data[i - 1][j] || 0));
        }
      }
      c.plot.setData([times.slice()].concat(data));
    }
  }

  function panels(s) {
    const status = $('status');
    status.textContent = s.status;
    status.className = 'badge ' + (s.status === 'ready' ? 'ok' : s.status === 'draining' ? 'bad' : 'warn');
    $('level').textContent = 'level ' + fmt(s.depth_level, 2);
    $('level').className = 'badge ' + (s.depth_level > 0 ? 'warn' : 'ok');
    $('share').textContent = 'admission share ' + fmt(s.deadline_share, 2);
    $('workers').textContent = 'workers ' + s.workers;
    $('inflight').textContent = 'in flight ' + s.in_flight;
    $('kafka-state').textContent = s.kafka.state;
    $('kafka-state').className = 'badge ' + ({ running: 'ok', off: '', failing: 'bad', failed: 'bad' }[s.kafka.state] ?? 'warn');
    $('kafka-lag').textContent = s.kafka.lag == null ? '–' : String(s.kafka.lag);
    $('kafka-error').textContent = s.kafka.last_error ? s.kafka.last_error.at + ': ' + s.kafka.last_error.message : '';
    const list = $('batches');
    list.textContent = '';
    if (s.batches.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'none running';
      list.appendChild(li);
    }
    for (const b of s.batches) {
      const li = document.createElement('li');
      const p = document.createElement('progress');
      p.max = Math.max(1, b.total);
      p.value = b.done;
      li.textContent = `${b.id}: ${b.done} / ${b.total} lines, ${fmt(b.lines_per_s)}/s`;
      li.appendChild(p);
      list.appendChild(li);
    }
    const nodes = $('nodes');
    nodes.textContent = '';
    for (const [node, rate] of Object.entries(s.batches_per_s_by_node)) {
      const li = document.createElement('li');
      li.textContent = `${node}: ${fmt(rate)}`;
      nodes.appendChild(li);
    }
  }

  function connect() {
    const events = new EventSource('/console/events');
    events.addEventListener('history', e => {
      const h = JSON.parse(e.data);
      state.about = h;
      maxPoints = h.history;
      $('model').textContent = h.model + ', exits ' + h.exit_layers.join(', ');
      times = [];
      const stages = h.samples.length ? h.samples[h.samples.length - 1].stages : h.exit_layers;
      build(h, stages);
      h.samples.forEach(push);
      if (h.samples.length) {
        panels(h.samples[h.samples.length - 1]);
      }
      state.samples += h.samples.length;
      redraw();
      $('feed').textContent = 'live';
      $('feed').className = 'badge ok';
    });
    events.addEventListener('sample', e => {
      const s = JSON.parse(e.data);
      push(s);
      panels(s);
      state.samples++;
      redraw();
    });
    // EventSource reconnects by itself (a restarted or drained server): say so meanwhile.
    events.onerror = () => { $('feed').textContent = 'reconnecting'; $('feed').className = 'badge warn'; };
  }

  window.addEventListener('resize', () => charts.forEach(c => c.plot.setSize({ width: Math.max(300, c.card.clientWidth - 20), height: 200 })));

  function cosine(a, b) {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return dot / Math.sqrt(na * nb);
  }

  /** Try it: the text at every exit, one after another so that each time is that exit's alone. */
  async function tryIt() {
    const text = $('try-text').value;
    const layers = state.about ? state.about.exit_layers : [];
    $('try-error').textContent = '';
    $('try-run').disabled = true;
    const headers = { 'content-type': 'application/json' };
    if ($('try-key').value) {
      headers.authorization = 'Bearer ' + $('try-key').value;
    }
    try {
      const rows = [];
      for (const layer of layers) {
        const start = performance.now();
        const r = await fetch('/v1/embed', { method: 'POST', headers,
          body: JSON.stringify({ input: text, exit: String(layer) }) });
        const body = await r.json();
        if (!r.ok) {
          throw new Error(`${r.status} ${body.error ? body.error.code + ': ' + body.error.message : ''}`);
        }
        rows.push({ layer, result: body.results[0], roundTrip: performance.now() - start });
      }
      const deep = rows[rows.length - 1].result.embedding;
      const tbody = $('try-result').querySelector('tbody');
      tbody.textContent = '';
      state.tryResult = rows.map(({ layer, result, roundTrip }) => {
        const cos = cosine(result.embedding, deep);
        const tr = document.createElement('tr');
        [String(result.exit_layer), cos.toFixed(4), result.exit_fidelity == null ? '–' : result.exit_fidelity.toFixed(4),
          String(result.tokens), fmt(result.queue_ms), fmt(result.compute_ms), fmt(roundTrip)].forEach(v => {
          const td = document.createElement('td');
          td.textContent = v;
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
        return { layer: result.exit_layer, cosine: cos, computeMs: result.compute_ms, roundTripMs: roundTrip };
      });
      $('try-result').hidden = false;
    } catch (e) {
      $('try-error').textContent = String(e.message || e);
    } finally {
      $('try-run').disabled = false;
    }
  }

  $('try-run').addEventListener('click', tryIt);
  connect();
})();
