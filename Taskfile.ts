/**
 * The pipeline this repository exists for (shared/DESIGN.md): images, vendor archive, rendered
 * config per environment, deploys. Run `npx task -T` for the list.
 */
import './tasks/vendor.ts';
import './tasks/images.ts';
import { namespace } from 'taskgraph';
import { discoverEnvironments, environmentOf } from './environments/index.ts';
import { defineLocalTasks } from './tasks/local.ts';
import { defineDeployTasks } from './tasks/deploy.ts';
import { defineRenderTasks, renderAll } from './tasks/render.ts';

// One namespace per environments/<name>.ts: adding qa.ts adds qa:render, qa:deploy and the rest.
const names = discoverEnvironments(`${import.meta.dirname}/environments`);
for (const name of names) {
  // Imported here, where no task is defined: see environmentOf.
  const env = environmentOf(name, await import(`./environments/${name}.ts`));
  namespace(name, () => {
    defineRenderTasks(env);
    if (env.kind === 'ecs') defineDeployTasks(env);
    if (env.kind === 'local') defineLocalTasks(env);
  });
}
renderAll(names);
