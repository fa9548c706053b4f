/**
 * The run timeouts of every run on one `Clock`, kept in deadline order and waited for by a
 * single fiber, so that a waiting run does not hold a fiber and a timer of its own.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"

/** One run's deadline, in its clock's list. @internal */
export interface Deadline {
  readonly at: number
  readonly fire: () => void
  prev: Deadline | undefined
  next: Deadline | undefined
  list: Deadlines | undefined
}

interface Deadlines {
  readonly clock: Clock.Clock
  head: Deadline | undefined
  tail: Deadline | undefined
  /** The fiber sleeping until `wakeAt`, while the list is not empty. */
  sleeper: Fiber.RuntimeFiber<void> | undefined
  wakeAt: number
}

const lists = new WeakMap<Clock.Clock, Deadlines>()

const unlink = (list: Deadlines, deadline: Deadline): void => {
  if (deadline.prev === undefined) list.head = deadline.next
  else deadline.prev.next = deadline.next
  if (deadline.next === undefined) list.tail = deadline.prev
  else deadline.next.prev = deadline.prev
  deadline.prev = deadline.next = deadline.list = undefined
}

/** Fires what is due, then sleeps until the next deadline; stops when none is left. */
const sleep = (list: Deadlines): Effect.Effect<void> =>
  Effect.suspend(() => {
    const now = list.clock.unsafeCurrentTimeMillis()
    for (let due = list.head; due !== undefined && due.at <= now; due = list.head) {
      unlink(list, due)
      due.fire()
    }
    const head = list.head
    if (head === undefined) {
      list.sleeper = undefined
      list.wakeAt = Infinity
      return Effect.void
    }
    list.wakeAt = head.at
    return Effect.zipRight(list.clock.sleep(Duration.millis(head.at - now)), sleep(list))
  })

// The sleeper needs nothing but its clock: it runs on the default runtime, so that it holds
// nothing of (and does not depend on the scheduler of) the run that happened to start it.
const wake = (list: Deadlines): void => {
  list.sleeper?.unsafeInterruptAsFork(FiberId.none)
  list.wakeAt = list.head!.at
  list.sleeper = Runtime.runFork(Runtime.defaultRuntime)(sleep(list), { immediate: false })
}

/** Calls `fire` once `clock` reaches `at`, unless the deadline is removed first. @internal */
export const add = (clock: Clock.Clock, at: number, fire: () => void): Deadline => {
  let list = lists.get(clock)
  if (list === undefined) {
    list = { clock, head: undefined, tail: undefined, sleeper: undefined, wakeAt: Infinity }
    lists.set(clock, list)
  }
  const deadline: Deadline = { at, fire, prev: undefined, next: undefined, list }
  // Runs with the same timeout arrive in deadline order: the place is found from the tail.
  let before = list.tail
  while (before !== undefined && before.at > at) before = before.prev
  deadline.prev = before
  deadline.next = before === undefined ? list.head : before.next
  if (deadline.prev === undefined) list.head = deadline
  else deadline.prev.next = deadline
  if (deadline.next === undefined) list.tail = deadline
  else deadline.next.prev = deadline
  if (list.sleeper === undefined || at < list.wakeAt) wake(list)
  return deadline
}

/**
 * Removes a deadline that has not fired. The list's fiber stops with the last one, so that no
 * timer is left behind (a pending timer would keep the process alive). @internal
 */
export const remove = (deadline: Deadline): void => {
  const list = deadline.list
  if (list === undefined) return
  unlink(list, deadline)
  if (list.head === undefined && list.sleeper !== undefined) {
    list.sleeper.unsafeInterruptAsFork(FiberId.none)
    list.sleeper = undefined
    list.wakeAt = Infinity
  }
}
