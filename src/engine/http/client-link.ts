import type { ServerResponse } from 'node:http';

/**
 * The client side of a request: `gone` once its connection closed before the answer was finished.
 * Cheaper than an AbortController per request (creating an AbortSignal costs microseconds on the hot
 * path): callbacks are a plain list, and `signal` is only made for the code that asks for one.
 */
/** Something to tell when the client goes away (an object, so watching needs no closure). */
export interface ClientWatcher {
  clientGone(): void;
}

export class ClientLink {
  gone = false;
  private callbacks?: (() => void)[];
  private watcher?: ClientWatcher;
  private controller?: AbortController;

  /**
   * The link of a response: the one the server attached (it fires it from its own 'close' listener),
   * else a new one.
   */
  static of(res: ServerResponse): ClientLink {
    const attached = (res as WithLink)[LINK];
    if (attached) return attached;
    const link = new ClientLink();
    res.once('close', () => {
      if (!res.writableFinished) link.fire();
    });
    return link;
  }

  /** Attach a link to a response; the caller fires it when the response closes early. */
  static attach(res: ServerResponse): ClientLink {
    const link = new ClientLink();
    (res as WithLink)[LINK] = link;
    return link;
  }

  /** A link that fires with this one, and can also be fired on its own (a deadline of one attempt). */
  child(): { link: ClientLink; release: () => void } {
    const link = new ClientLink();
    if (this.gone) link.fire();
    return { link, release: this.onGone(() => link.fire()) };
  }

  /** Call `cb` when the client goes away (at once if it already has); returns the unsubscribe. */
  onGone(cb: () => void): () => void {
    if (this.gone) {
      cb();
      return noop;
    }
    (this.callbacks ??= []).push(cb);
    return () => {
      const list = this.callbacks;
      const i = list ? list.indexOf(cb) : -1;
      if (i !== -1) list!.splice(i, 1);
    };
  }

  /** Tell `w` when the client goes away (one watcher at a time: the attempt in flight). */
  watch(w: ClientWatcher): void {
    if (this.gone) w.clientGone();
    else if (!this.watcher) this.watcher = w;
    else this.onGone(() => w.clientGone()); // a second watcher at once: rare, the slow path is fine
  }

  unwatch(w: ClientWatcher): void {
    if (this.watcher === w) this.watcher = undefined;
  }

  /** An AbortSignal that aborts with this link (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort();
    }
    return this.controller.signal;
  }

  fire(): void {
    if (this.gone) return;
    this.gone = true;
    this.controller?.abort();
    const w = this.watcher;
    this.watcher = undefined;
    w?.clientGone();
    const list = this.callbacks;
    this.callbacks = undefined;
    if (list) for (const cb of list) cb();
  }
}

function noop(): void {}

const LINK = Symbol('kubiya.clientLink');
type WithLink = ServerResponse & { [LINK]?: ClientLink };
