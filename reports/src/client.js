// Runs in the report page (inlined by assets.ts): draws every chart spec from the embedded JSON with
// uPlot. Plain browser JavaScript, no imports: the page must work offline from a file:// URL.
/* global uPlot */
;(() => {
  const HEIGHT = 260
  const AXIS = '#475569'
  const GRID = '#e2e8f0'
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200]
  const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

  const trim = (text) => text.replace(/\.0+$|(\.\d*?)0+$/, '$1')
  const num = (v) => {
    const a = Math.abs(v)
    if (a >= 1000)
      return Math.round(v)
        .toString()
        .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    return trim(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2))
  }
  const UNITS = {
    ms: { title: 'ms', fmt: (v) => `${num(v)} ms` },
    pct: { title: '%', fmt: (v) => `${num(v)} %` },
    rps: { title: 'requests / s', fmt: (v) => `${num(v)} req/s` },
    mb: { title: 'MB', fmt: (v) => `${num(v)} MB` },
    users: { title: 'active users', fmt: (v) => num(v) },
    count: { title: 'requests', fmt: (v) => num(v) },
    streams: { title: 'concurrent streams', fmt: (v) => num(v) },
  }
  const clock = (s) => {
    const t = Math.round(s)
    const m = Math.floor(t / 60)
    const r = t % 60
    return `${m}:${String(r).padStart(2, '0')}`
  }
  const show = (fmt) => (_u, v) => (v === null || v === undefined ? '\u2014' : fmt(v))

  function axis(unit, side) {
    return {
      scale: side === 1 ? 'y2' : 'y',
      side: side === 1 ? 1 : 3,
      label: UNITS[unit].title,
      labelFont: FONT,
      font: FONT,
      stroke: AXIS,
      size: 64,
      grid: { show: side !== 1, stroke: GRID, width: 1 },
      ticks: { show: false },
      values: (_u, splits) => splits.map((v) => (v === null ? '' : num(v))),
    }
  }

  function xAxis(spec) {
    const base = {
      label: spec.xTitle,
      labelFont: FONT,
      labelSize: 18,
      font: FONT,
      stroke: AXIS,
      size: 28,
      grid: { stroke: GRID, width: 1 },
    }
    // A numeric x axis (a rate, a concurrency) instead of time since the start.
    if (spec.xUnit) {
      return {
        ...base,
        ticks: { show: false },
        values: (_u, splits) => splits.map((v) => (v === null ? '' : num(v))),
      }
    }
    if (spec.kind !== 'bars') {
      return { ...base, ticks: { show: false }, incrs: TIME_STEPS, values: (_u, splits) => splits.map(clock) }
    }
    const labels = spec.xLabels
    return {
      ...base,
      grid: { show: false },
      ticks: { show: false },
      splits: (u) => {
        const step = Math.max(
          1,
          Math.ceil(labels.length / Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / 56))),
        )
        const out = []
        for (let i = 0; i < labels.length; i += step) out.push(i)
        return out
      },
      values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
    }
  }

  // Phases (chaos runs): shaded behind the series and named at the top, each label clipped to its band.
  function bandsPlugin(bands) {
    const draw = (u) => {
      const ctx = u.ctx
      const { top, height } = u.bbox
      const dpr = devicePixelRatio || 1
      ctx.save()
      for (const band of bands) {
        const x0 = Math.round(u.valToPos(band.from, 'x', true))
        const x1 = Math.round(u.valToPos(band.to, 'x', true))
        ctx.fillStyle = band.fill
        ctx.fillRect(x0, top, x1 - x0, height)
        ctx.fillStyle = 'rgba(71, 85, 105, 0.55)'
        ctx.fillRect(x0, top, Math.max(1, dpr), height)
        ctx.save()
        ctx.beginPath()
        ctx.rect(x0, top, x1 - x0, height)
        ctx.clip()
        ctx.fillStyle = '#334155'
        ctx.font = `600 ${11 * dpr}px system-ui, sans-serif`
        ctx.textBaseline = 'top'
        ctx.fillText(band.label, x0 + 4 * dpr, top + 4 * dpr)
        ctx.restore()
      }
      ctx.restore()
    }
    return { hooks: { drawClear: [draw] } }
  }

  function options(spec, width) {
    const bars = spec.kind === 'bars'
    const zeroBased = (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1]
    const scales = {
      x: bars
        ? { time: false, range: () => [-0.5, spec.x.length - 0.5] }
        : { time: false, ...(spec.xUnit ? { range: xRange(spec) } : {}) },
      y: { range: zeroBased },
    }
    const axes = [xAxis(spec), axis(spec.unit, 3)]
    if (spec.unit2) {
      scales.y2 = { range: zeroBased }
      axes.push(axis(spec.unit2, 1))
    }
    const series = [
      {
        label: bars ? 'bucket' : spec.xUnit ? UNITS[spec.xUnit].title : 'time',
        value: bars
          ? (_u, i) => (spec.xLabels[i] === undefined ? '\u2014' : `${spec.xLabels[i]} ms`)
          : show(spec.xUnit ? UNITS[spec.xUnit].fmt : clock),
      },
    ]
    for (const s of spec.series) {
      const unit = s.scale === 'y2' ? spec.unit2 : spec.unit
      series.push({
        label: s.label,
        scale: s.scale ?? 'y',
        stroke: s.color,
        fill: s.fill,
        width: s.dash ? 1.5 : 2,
        dash: s.dash,
        spanGaps: s.spanGaps === true,
        // Measured points get markers; `line: false` draws the markers alone.
        points: s.points
          ? { show: true, size: 8, width: 2, fill: s.color, stroke: s.color }
          : { show: false },
        value: show(UNITS[unit].fmt),
        paths: bars
          ? uPlot.paths.bars({ size: [0.85, 80], align: 0 })
          : s.line === false
            ? () => null
            : undefined,
      })
    }
    const bands = spec.bands ?? []
    if (bands.length > 0) {
      const end = Math.max(...bands.map((b) => b.to))
      scales.x = { time: false, range: () => [0, end] }
    }
    return {
      hooks: spec.marks ? { draw: [(u) => drawMarks(u, spec.marks)] } : {},
      width,
      height: HEIGHT,
      scales,
      axes,
      series,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      plugins: bands.length > 0 ? [bandsPlugin(bands)] : [],
    }
  }

  // A numeric x axis spans its marks too (a predicted knee beyond the last measured rate), with a margin.
  function xRange(spec) {
    const marks = (spec.marks ?? []).map((m) => m.x)
    return (_u, min, max) => {
      const lo = Math.min(min, ...marks)
      const hi = Math.max(max, ...marks)
      const pad = (hi - lo) * 0.03 || 1
      return [Math.max(0, lo - pad), hi + pad]
    }
  }

  // Vertical marks at x values (a knee), labelled at the top of the plot.
  function drawMarks(u, marks) {
    const ctx = u.ctx
    const { left, top, width, height } = u.bbox
    ctx.save()
    ctx.font = FONT.replace('12px', `${Math.round(12 * devicePixelRatio)}px`)
    for (const [i, mark] of marks.entries()) {
      const x = Math.round(u.valToPos(mark.x, 'x', true))
      ctx.strokeStyle = mark.color
      ctx.fillStyle = mark.color
      ctx.lineWidth = 2 * devicePixelRatio
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio])
      ctx.beginPath()
      ctx.moveTo(x, top)
      ctx.lineTo(x, top + height)
      ctx.stroke()
      // Labels step down one line each, so marks close together stay readable; near the right edge
      // a label goes to the left of its line.
      const w = ctx.measureText(mark.label).width
      const gap = 4 * devicePixelRatio
      const at = x + gap + w > left + width ? x - gap - w : x + gap
      ctx.fillText(mark.label, at, top + (14 + 15 * i) * devicePixelRatio)
    }
    ctx.restore()
  }

  const plots = []
  const data = JSON.parse(document.getElementById('report-charts').textContent)
  for (const figure of document.querySelectorAll('[data-chart]')) {
    const spec = data[figure.getAttribute('data-chart')]
    const target = figure.querySelector('.chart-plot')
    if (!spec || !target) continue
    const columns = [spec.x, ...spec.series.map((s) => s.values)]
    const plot = new uPlot(options(spec, target.clientWidth || 600), columns, target)
    plots.push({ plot, target })
    figure.setAttribute('data-drawn', 'true')
    if (spec.bands) figure.setAttribute('data-bands', String(spec.bands.length))
  }

  const fit = () => {
    for (const { plot, target } of plots) {
      const width = target.clientWidth
      if (width > 0 && width !== plot.width) plot.setSize({ width, height: HEIGHT })
    }
  }
  if (typeof ResizeObserver === 'function') {
    const observer = new ResizeObserver(fit)
    for (const { target } of plots) observer.observe(target)
  }
  window.addEventListener('beforeprint', fit)
  window.addEventListener('afterprint', fit)
})()
