import { loadScenario, ScenarioError } from '@vsim/scenario';
for (const f of process.argv.slice(2)) {
  try { console.log(JSON.stringify(loadScenario(f), null, 1).slice(0, 3000)); }
  catch (e) { if (e instanceof ScenarioError) console.log(e.message, '\n', JSON.stringify(e.issues.slice(0,3))); else throw e; }
}
