/**
 * What emulated containers print, and the awslogs driver that ships it to CloudWatch Logs.
 *
 * A container whose definition has an `awslogs` logConfiguration writes to stream
 * `<awslogs-stream-prefix>/<container name>/<task id>` of `awslogs-group`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html). Lines are
 * spread over the task's running time, so a follower sees them arrive while the task runs, and
 * each becomes searchable `ingestionDelayMs` after its timestamp. Without a log group nothing is
 * shipped (the emulator does not model the ResourceInitializationError ECS would give).
 *
 * By default a one-off task's container prints its command as a JSON array (its argv, so tests
 * see exactly what reached the container) and a service task prints nothing; tests script
 * other output with `emu.taskOutput.print(selector, lines)`.
 */
import type { EcsState, TaskDefinitionRecord } from './ecs-state.js';
import { findTaskDefinition } from './ecs-state.js';
import type { TaskSelector } from './faults.js';
import { writeEvents, type LogsState } from './logs.js';
import type { SimTask, Timing } from './task-lifecycle.js';

interface Script {
  selector: TaskSelector;
  lines: readonly string[];
}

export class TaskOutputs {
  #scripts: Script[] = [];
  /** Task id -> lines already shipped. */
  readonly shipped = new Map<string, number>();

  /** Tasks matching `selector` (one-off and service tasks) print `lines`. */
  print(selector: TaskSelector, lines: readonly string[]): this {
    this.#scripts.unshift({ selector, lines });
    return this;
  }

  linesFor(def: TaskDefinitionRecord): readonly string[] | undefined {
    return this.#scripts.find((s) => selects(s.selector, def))?.lines;
  }
}

function selects(selector: TaskSelector, def: TaskDefinitionRecord): boolean {
  if ('image' in selector) {
    return def.images.some((i) => i === selector.image || i.endsWith(`/${selector.image}`));
  }
  return (
    selector.family === def.family &&
    (selector.revision === undefined || selector.revision === def.revision)
  );
}

interface ContainerDef {
  name: string;
  command?: string[];
  logConfiguration?: { logDriver?: string; options?: Record<string, string> };
}

interface Overrides {
  containerOverrides?: { name?: string; command?: string[] }[];
}

/** Ships whatever every task has printed up to `now`. */
export function shipTaskOutput(
  ecs: EcsState,
  logs: LogsState,
  outputs: TaskOutputs,
  timing: Timing,
  now: number,
): void {
  for (const task of ecs.tasks.values()) {
    const overrides = task.sent['overrides'] as Overrides | undefined;
    ship(task.sim, overrides, timing.runSeconds, true);
  }
  for (const service of ecs.services.values()) {
    for (const sim of service.sim.tasks) ship(sim, undefined, timing.healthCheckSeconds, false);
  }

  function ship(
    sim: SimTask,
    overrides: Overrides | undefined,
    spanSeconds: number,
    oneOff: boolean,
  ) {
    if (sim.startedAt === undefined) return;
    const def = findTaskDefinition(ecs, sim.taskDefinitionArn);
    if (!def) return;
    const containers = (def.sent['containerDefinitions'] ?? []) as ContainerDef[];
    const override = overrides?.containerOverrides?.find((o) => o.command !== undefined);
    const container = containers.find((c) => c.name === override?.name) ?? containers[0];
    const options = container?.logConfiguration?.options;
    if (!container || container.logConfiguration?.logDriver !== 'awslogs' || !options) return;
    const lines =
      outputs.linesFor(def) ??
      (oneOff ? [JSON.stringify(override?.command ?? container.command ?? [])] : []);
    const done = outputs.shipped.get(sim.id) ?? 0;
    const end = sim.stoppingAt ?? Number.POSITIVE_INFINITY;
    const step = (spanSeconds * 1000) / (lines.length + 1);
    const due: { timestamp: number; message: string; ingestionTime: number }[] = [];
    for (let i = done; i < lines.length; i++) {
      const timestamp = Math.round(sim.startedAt + step * (i + 1));
      if (timestamp > now || timestamp > end) break;
      due.push({
        timestamp,
        message: lines[i] as string,
        ingestionTime: timestamp + logs.ingestionDelayMs,
      });
    }
    if (due.length === 0) return;
    const prefix = options['awslogs-stream-prefix'];
    const stream = prefix ? `${prefix}/${container.name}/${sim.id}` : sim.id;
    if (writeEvents(logs, options['awslogs-group'] ?? '', stream, due)) {
      outputs.shipped.set(sim.id, done + due.length);
    }
  }
}
