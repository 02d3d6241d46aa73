/**
 * The pipeline this repository exists for (shared/DESIGN.md): images, vendor archive, rendered
 * config per environment, deploys. Run `npx task -T` for the list.
 */
import './tasks/vendor.ts';
import './tasks/images.ts';
import { disableNamespace, namespace } from 'taskgraph';
import { discoverEnvironments, environmentOf } from './environments/index.ts';
import { defineLocalTasks } from './tasks/local.ts';
import { defineDeployTasks } from './tasks/deploy.ts';
import { defineRenderTasks, renderAll } from './tasks/render.ts';

// One namespace per environments/<name>.ts: adding qa.ts adds qa:render, qa:deploy and the rest.
const names = discoverEnvironments(`${import.meta.dirname}/environments`);
const defined: string[] = [];
for (const name of names) {
  let env;
  try {
    // Imported here, where no task is defined: see environmentOf.
    env = environmentOf(name, await import(`./environments/${name}.ts`));
  } catch (error) {
    // A broken environment file disables its own namespace, not every other task.
    disableNamespace(name, error);
    continue;
  }
  defined.push(name);
  namespace(name, () => {
    defineRenderTasks(env);
    if (env.kind === 'ecs') defineDeployTasks(env);
    if (env.kind === 'local') defineLocalTasks(env);
  });
}
renderAll(defined);
