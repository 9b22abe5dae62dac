import type { Dataset } from './dataset.ts';
import type { Flow } from './flow.ts';
import type { KafkaLogConfig } from './kafka-storage.ts';

/** Where the project keeps its warehouse and run state. */
export interface ProjectOptions {
  readonly name: string;
  readonly flows: readonly Flow[];
  /** Datasets declared but not read or written by any flow still belong in the catalog (and `napkin check` sees them). */
  readonly datasets?: readonly Dataset[];
  /** The DuckDB warehouse file, relative to the project root. Default `.napkin/warehouse.duckdb`. */
  readonly warehouse?: string;
  /** napkin's log on Kafka (`kafkaLog({ brokers })`) instead of the project's state folder. */
  readonly log?: KafkaLogConfig;
}

/** A napkin project: what `napkin.config.ts` exports by default. */
export interface Project {
  readonly kind: 'project';
  readonly name: string;
  readonly flows: readonly Flow[];
  readonly datasets: readonly Dataset[];
  readonly warehouse: string;
  readonly log?: KafkaLogConfig;
}

export function defineProject(options: ProjectOptions): Project {
  return {
    kind: 'project',
    name: options.name,
    flows: options.flows,
    datasets: options.datasets ?? [],
    warehouse: options.warehouse ?? '.napkin/warehouse.duckdb',
    ...(options.log === undefined ? {} : { log: options.log }),
  };
}
