// @platformatic/kafka 2.12 declares Node.js >= 22.22, and the only newer language feature it uses
// is Promise.withResolvers (Node.js 22). Brook supports Node.js 20, so on 20 the tests provide it
// before the client is loaded (ES modules evaluate their imports in order, so import this first).
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((resolvePromise, rejectPromise) => {
        resolve = resolvePromise;
        reject = rejectPromise;
      });
      return { promise, resolve, reject };
    },
  });
}
export {};
