// The page of the packaging test's browser app: starts the app's own worker
// (deliberately called worker.js, as many apps' are), hands it the page's
// query parameters and publishes its answer on window.__result.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onmessage = (e) => {
  window.__result = { ...e.data, pageCrossOriginIsolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
};
worker.onerror = (e) => {
  window.__result = { error: `worker error: ${e.message || 'did not load'}` };
};
worker.postMessage(Object.fromEntries(new URLSearchParams(location.search)));
