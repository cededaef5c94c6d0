import { listScenarios, loadScenario, scaleScenario } from '../scenarios/chaos/scenario.ts'
import { chaosMix } from '../scenarios/chaos/scenario.ts'
for (const name of listScenarios()) {
  const base = loadScenario(name)
  for (const s of [base, ...(base.ci ? [scaleScenario(base, base.ci.scale)] : [])]) {
    const mix = chaosMix(s.load); const total = mix.reduce((a, m) => a + m.weight, 0)
    for (const p of s.phases) for (const a of p.assert) {
      if (a.kind !== 'success_rate') continue
      const share = a.scenarios ? mix.filter(m => a.scenarios!.includes(m.name)).reduce((x, m) => x + m.weight, 0) / total : 1
      const n = (p.rate ?? s.load.rate) * (p.end - p.start - (a.after ?? 0)) * share
      const need = 1 / (1 - a.min)
      console.log(`${name.padEnd(20)} scale ${s.scale.toFixed(2)} ${p.name.padEnd(16)} min ${a.min} planned ${n.toFixed(0).padStart(5)} need > ${need.toFixed(0)} ${n > need ? '' : 'TOO FEW'}`)
    }
  }
}
