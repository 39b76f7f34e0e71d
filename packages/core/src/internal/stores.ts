/**
 * The stores behind `PriorityQueue` (a binary min-heap ordered by an `Order`,
 * stable for equal keys because insertion order breaks ties) and `LifoQueue`
 * (a stack).
 *
 * @internal
 */
import type * as Order from "effect/Order"
import type { Store } from "./buffer.ts"

interface Entry<A> {
  readonly item: A
  readonly seq: number
}

/** @internal */
export class Heap<A> implements Store<A> {
  readonly entries: Array<Entry<A>> = []
  readonly order: Order.Order<A>
  seq = 0

  constructor(order: Order.Order<A>) {
    this.order = order
  }

  get size(): number {
    return this.entries.length
  }

  less(a: Entry<A>, b: Entry<A>): boolean {
    const c = this.order(a.item, b.item)
    return c < 0 || (c === 0 && a.seq < b.seq)
  }

  push(item: A): void {
    const entries = this.entries
    let i = entries.push({ item, seq: this.seq++ }) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(entries[i]!, entries[parent]!)) break
      ;[entries[i], entries[parent]] = [entries[parent]!, entries[i]!]
      i = parent
    }
  }

  pop(): A {
    const entries = this.entries
    const top = entries[0]!
    const last = entries.pop()!
    if (entries.length > 0) {
      entries[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let min = i
        if (l < entries.length && this.less(entries[l]!, entries[min]!)) min = l
        if (r < entries.length && this.less(entries[r]!, entries[min]!)) min = r
        if (min === i) break
        ;[entries[i], entries[min]] = [entries[min]!, entries[i]!]
        i = min
      }
    }
    return top.item
  }

  peek(): A {
    return this.entries[0]!.item
  }

  clear(): void {
    this.entries.length = 0
  }
}

/** @internal */
export class Stack<A> implements Store<A> {
  readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  push(item: A): void {
    this.items.push(item)
  }

  pop(): A {
    return this.items.pop()!
  }

  peek(): A {
    return this.items[this.items.length - 1]!
  }

  clear(): void {
    this.items.length = 0
  }
}
