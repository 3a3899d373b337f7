import { SkiffError, type ScoredItem } from '@skiff/core';
import { writeFilesAtomic } from '@skiff/node-io';
import { readArtifactJson, type ArtifactConfig } from './artifact.js';
import { RankedItems, TopK } from './ranked-items.js';

/**
 * What the session-based kNN models (V-SKNN, STAN, VSTAN) share: the training sessions as CSR
 * typed arrays with the item → sessions index, the recency order, the `sessions.json` artifact,
 * and the per-request scratch space with the prefix's position weights. Each model keeps only
 * its own similarity and scoring.
 */

/** `sessions.json`: item indices per training session (click order), most recent session first, with its last time. */
export interface SessionsJson {
  lastTimes: number[];
  sessions: number[][];
}

/**
 * Training sessions, most recent first (session index 0 = the newest), as CSR tables:
 * - `seqOff`/`seqItems`: the item indices of each session as given (what the artifact stores);
 * - `setOff`/`setItems`/`setLast`: its distinct items, in order of first occurrence, with the
 *   1-based position of their last occurrence;
 * - `itemOff`/`itemSess`/`itemSessPos`: for every item, the sessions holding it, by recency, with
 *   the item's last position there.
 */
export class SessionIndex {
  readonly seqOff: Int32Array;
  readonly seqItems: Int32Array;
  readonly setOff: Int32Array;
  readonly setItems: Int32Array;
  readonly setLast: Int32Array;
  readonly itemOff: Int32Array;
  readonly itemSess: Int32Array;
  readonly itemSessPos: Int32Array;

  constructor(sessions: ReadonlyArray<ArrayLike<number>>, items: number) {
    const S = sessions.length;
    this.seqOff = new Int32Array(S + 1);
    let total = 0;
    sessions.forEach((s, i) => {
      total += s.length;
      this.seqOff[i + 1] = total;
    });
    this.seqItems = new Int32Array(total);
    sessions.forEach((s, i) => {
      for (let j = 0; j < s.length; j++) {
        const it = s[j]!;
        if (!(Number.isInteger(it) && it >= 0 && it < items))
          throw new SkiffError('ARTIFACT_CORRUPTED', `session ${i} refers to unknown item index ${it}`);
        this.seqItems[this.seqOff[i]! + j] = it;
      }
    });
    const seen = new Int32Array(items).fill(-1);
    const setOff = new Int32Array(S + 1);
    const setItems: number[] = [];
    const setLast: number[] = [];
    const perItem = new Int32Array(items);
    for (let s = 0; s < S; s++) {
      const start = setItems.length;
      for (let j = this.seqOff[s]!; j < this.seqOff[s + 1]!; j++) {
        const it = this.seqItems[j]!;
        const pos = j - this.seqOff[s]! + 1;
        if (seen[it]! >= start) {
          setLast[seen[it]!] = pos;
        } else {
          seen[it] = setItems.length;
          setItems.push(it);
          setLast.push(pos);
          perItem[it]!++;
        }
      }
      setOff[s + 1] = setItems.length;
    }
    // Sessions without repeats (V-SKNN stores distinct items) share one table for both views.
    const distinct = setItems.length === total;
    this.setOff = distinct ? this.seqOff : setOff;
    this.setItems = distinct ? this.seqItems : Int32Array.from(setItems);
    this.setLast = Int32Array.from(setLast);
    this.itemOff = new Int32Array(items + 1);
    for (let i = 0; i < items; i++) this.itemOff[i + 1] = this.itemOff[i]! + perItem[i]!;
    this.itemSess = new Int32Array(this.setItems.length);
    this.itemSessPos = new Int32Array(this.setItems.length);
    const fill = this.itemOff.slice(0, items);
    // Sessions in ascending index = most recent first, so every item's list is sorted by recency.
    for (let s = 0; s < S; s++) {
      for (let j = this.setOff[s]!; j < this.setOff[s + 1]!; j++) {
        const at = fill[this.setItems[j]!]!++;
        this.itemSess[at] = s;
        this.itemSessPos[at] = this.setLast[j]!;
      }
    }
  }

  get sessionCount(): number {
    return this.seqOff.length - 1;
  }

  /** The sequences as stored in `sessions.json`. */
  sequences(): number[][] {
    const out: number[][] = [];
    for (let s = 0; s < this.sessionCount; s++)
      out.push(Array.from(this.seqItems.subarray(this.seqOff[s]!, this.seqOff[s + 1]!)));
    return out;
  }
}

/**
 * Training sessions in the kNN models' order: most recent first by `lastTimes` (seconds, aligned
 * with `train`; without it the array order stands for time, later = more recent); equal times put
 * the later session of the input first. `keep` drops sessions before ordering.
 */
export function recencyOrder(
  train: readonly (readonly string[])[],
  lastTimes: readonly number[] | undefined,
  keep: (session: readonly string[]) => boolean = () => true,
): { order: number[]; times: Float64Array } {
  if (lastTimes && lastTimes.length !== train.length)
    throw new SkiffError('BAD_INPUT', `lastTimes has ${lastTimes.length} entries for ${train.length} sessions`);
  const time = (i: number) => (lastTimes ? lastTimes[i]! : i);
  const order = train.map((_, i) => i).filter((i) => keep(train[i]!));
  order.sort((a, b) => time(b) - time(a) || b - a);
  return { order, times: Float64Array.from(order, time) };
}

/** Writes a kNN model's artifact: `items.json`, `sessions.json`, `config.json`. */
export function saveKnnArtifact<P>(
  dir: string,
  config: ArtifactConfig<P>,
  ranked: RankedItems,
  index: SessionIndex,
  lastTimes: Float64Array,
): Promise<string[]> {
  const sessions: SessionsJson = { lastTimes: Array.from(lastTimes), sessions: index.sequences() };
  return writeFilesAtomic(dir, [
    ['items.json', JSON.stringify(ranked.toJSON())],
    ['sessions.json', JSON.stringify(sessions)],
    ['config.json', JSON.stringify(config, null, 2)],
  ]);
}

/** Reads a kNN model's artifact; a malformed `sessions.json` is ARTIFACT_CORRUPTED. */
export async function loadKnnArtifact<P>(
  dir: string,
): Promise<{ config: ArtifactConfig<P>; ranked: RankedItems; sessions: number[][]; lastTimes: Float64Array }> {
  const config = await readArtifactJson<ArtifactConfig<P>>(dir, 'config.json');
  const ranked = new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json'));
  const s = await readArtifactJson<SessionsJson>(dir, 'sessions.json');
  if (
    !Array.isArray(s.sessions) ||
    !Array.isArray(s.lastTimes) ||
    s.lastTimes.length !== s.sessions.length ||
    !s.sessions.every(Array.isArray)
  )
    throw new SkiffError('ARTIFACT_CORRUPTED', `sessions.json in ${dir} is malformed`);
  return { config, ranked, sessions: s.sessions, lastTimes: Float64Array.from(s.lastTimes) };
}

/** The prefix of one request: its known items, and the distinct ones. */
export interface KnnPrefix {
  /** Known prefix items (unknown ones dropped), in order. */
  ids: number[];
  /** Distinct known items, in order of first occurrence. */
  distinct: number[];
}

/**
 * Scratch space reused by every request of one model (JS is single-threaded; recommend is
 * synchronous): the prefix items' position weights and latest positions, generation stamps for
 * sessions and items, item scores, and the candidate buffer.
 */
export class KnnScratch {
  readonly posW: Float64Array;
  /** 1-based latest position in the prefix of each item; 0 = not in the prefix. */
  readonly lastPos: Int32Array;
  readonly sessStamp: Int32Array;
  readonly itemStamp: Int32Array;
  readonly score: Float64Array;
  readonly touched: Int32Array;
  readonly top = new TopK();
  cand = new Int32Array(1024);
  gen = 0;

  constructor(items: number, sessions: number) {
    this.posW = new Float64Array(items);
    this.lastPos = new Int32Array(items);
    this.itemStamp = new Int32Array(items);
    this.score = new Float64Array(items);
    this.touched = new Int32Array(items);
    this.sessStamp = new Int32Array(sessions);
  }

  /**
   * Starts a request: a new generation, the top-k buffer reset, and the known prefix items with
   * their position weights `weight(c, L)` (c = 1-based position of L; a repeat keeps its latest).
   * Call `end(prefix)` when done.
   */
  begin(
    ranked: RankedItems,
    history: readonly string[],
    k: number,
    weight: (c: number, L: number) => number,
  ): KnnPrefix {
    if (++this.gen > 0x7ffffff0) {
      this.gen = 1;
      this.sessStamp.fill(0);
      this.itemStamp.fill(0);
    }
    const ids: number[] = [];
    for (const h of history) {
      const id = ranked.id(h);
      if (id >= 0) ids.push(id);
    }
    const L = ids.length;
    this.top.reset(k);
    const distinct: number[] = [];
    const { posW, lastPos } = this;
    for (let c = 1; c <= L; c++) {
      const id = ids[c - 1]!;
      if (lastPos[id] === 0) distinct.push(id);
      posW[id] = weight(c, L);
      lastPos[id] = c;
    }
    return { ids, distinct };
  }

  /** Makes room for `need` candidates, keeping those collected so far; true when the buffer grew. */
  grow(need: number): boolean {
    if (need <= this.cand.length) return false;
    let size = this.cand.length;
    while (size < need) size *= 2;
    const c = new Int32Array(size);
    c.set(this.cand);
    this.cand = c;
    return true;
  }

  /**
   * Pushes the scored items (times `boost`, when given) to the top-k buffer and returns the list,
   * scores divided by their maximum, filled with the most popular items (score 0).
   */
  finish(
    ranked: RankedItems,
    k: number,
    nt: number,
    remind: boolean,
    exclude: ReadonlySet<string> | undefined,
    prefix: KnnPrefix,
    boost?: Float64Array,
  ): ScoredItem[] {
    const { touched, score, itemStamp, lastPos, top, gen } = this;
    let max = 0;
    for (let t = 0; t < nt; t++) {
      const it = touched[t]!;
      const v = boost ? score[it]! * boost[it]! : score[it]!;
      score[it] = v;
      if (v > max) max = v;
      if (!exclude || !exclude.has(ranked.item(it))) top.push(it, v);
    }
    const list = top.toList(ranked, k, max, (id) => itemStamp[id] === gen || (!remind && lastPos[id]! > 0), exclude);
    this.end(prefix);
    return list;
  }

  /** Clears the prefix's weights for the next request. */
  end(prefix: KnnPrefix): void {
    for (const id of prefix.distinct) {
      this.posW[id] = 0;
      this.lastPos[id] = 0;
    }
  }
}
