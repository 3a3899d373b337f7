/** Item ids ↔ indices; index 0 is padding, so known items are 1..size. */
export class Vocabulary {
  readonly items: readonly string[];
  private readonly index: Map<string, number>;

  constructor(items: readonly string[]) {
    this.items = items;
    this.index = new Map(items.map((it, i) => [it, i + 1]));
  }

  static fromSessions(sessions: readonly (readonly string[])[]): Vocabulary {
    const seen = new Set<string>();
    for (const s of sessions) for (const i of s) seen.add(i);
    return new Vocabulary([...seen].sort());
  }

  get size(): number {
    return this.items.length;
  }

  /** 0 for unknown items. */
  id(item: string): number {
    return this.index.get(item) ?? 0;
  }

  item(id: number): string {
    return this.items[id - 1]!;
  }

  has(item: string): boolean {
    return this.index.has(item);
  }
}

/** Item counts over the training sessions (POP, the popularity fallback, popularity bias). */
export function itemCounts(sessions: readonly (readonly string[])[]): Map<string, number> {
  const c = new Map<string, number>();
  for (const s of sessions) for (const i of s) c.set(i, (c.get(i) ?? 0) + 1);
  return c;
}
