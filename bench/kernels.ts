/**
 * `node --import tsx bench/kernels.ts [projectDir]`: prints the generated kernels (filter predicate, projection,
 * aggregate arguments) of the bench project's flows, to read what the hot loops really run.
 */
import { resolve } from 'node:path';
import { compilePredicate, compileProjection } from '../src/expr/compile.ts';
import { openWorkspace } from '../src/index.ts';

const ws = await openWorkspace(resolve(process.argv[2] ?? '.bench/project'));
for (const b of ws.plan.flows) {
  for (const s of b.stages) {
    const node = s.node;
    if (node === undefined || s.kind !== 'transform') continue;
    const input = b.stages.find((x) => x.id === s.inputs[0])?.schema;
    if (input === undefined) continue;
    if (node.op === 'filter')
      console.log(`-- ${b.flow.name} ${s.id}\n${compilePredicate(node.predicate, input, ws.registry).source}`);
    if (node.op === 'withColumns' || node.op === 'select')
      console.log(
        `-- ${b.flow.name} ${s.id}\n${
          compileProjection(
            node.columns.map((c) => c.expr),
            input,
            ws.registry,
          ).source
        }`,
      );
  }
}
