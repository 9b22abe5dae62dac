import {
  minTarget,
  type SubtriggersState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * What `afterAll` and `afterFirst` share (G12, G13): a once trigger over subtriggers whose state is theirs side by
 * side, merged index by index, cleared together, timed by the earliest subtrigger target. They differ only in when
 * they are ready, which subtriggers see elements, and what firing does to each.
 */
type Kind = 'afterFirst' | 'afterAll';

export abstract class OnceOfSubtriggers<K extends Kind> implements TriggerMachine {
  constructor(
    private readonly kind: K,
    protected readonly subs: readonly TriggerMachine[],
  ) {}

  abstract onElement(state: TriggerState, ctx: TriggerContext): void;
  abstract shouldFire(state: TriggerState, ctx: TriggerContext): boolean;
  abstract onFire(state: TriggerState, ctx: TriggerContext): boolean;

  init(): TriggerState {
    return stateOf(
      this.kind,
      false,
      this.subs.map((m) => m.init()),
    );
  }

  onMerge(states: readonly TriggerState[], ctx: TriggerContext): TriggerState {
    const olds = states.map((s) => this.own(s));
    return stateOf(
      this.kind,
      olds.some((s) => s.finished),
      this.subs.map((m, i) =>
        m.onMerge(
          olds.map((s) => s.subs[i]),
          ctx,
        ),
      ),
    );
  }

  clear(state: TriggerState): void {
    const s = this.own(state);
    for (let i = 0; i < this.subs.length; i++) this.subs[i].clear(s.subs[i]);
  }

  target(state: TriggerState): number | null {
    return minTarget(this.subs, this.own(state).subs);
  }

  protected own(state: TriggerState): SubtriggersState<K> {
    return stateAs(state, this.kind) as SubtriggersState<K>;
  }
}

/** The state of either kind; each branch narrows the kind so the object is one member of the state union. */
function stateOf(kind: Kind, finished: boolean, subs: TriggerState[]): TriggerState {
  return kind === 'afterAll' ? { kind, finished, subs } : { kind, finished, subs };
}
