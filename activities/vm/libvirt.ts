import { compileFunction, constants } from 'node:vm';
import type * as Binding from '@unraid/libvirt/dist/index';

/**
 * Loads the libvirt binding. @unraid/libvirt is an ES module only, and this project
 * compiles to CommonJS, where tsc turns `import()` into `require()`, which cannot load
 * an ES module on Node 20: the import is written in a string tsc leaves alone.
 * Inside jest's module sandbox that plain import has no loader behind it, so there the
 * import is compiled against Node's own loader instead (an experimental vm option, which
 * is why it is only the fallback). Types come from the package's declaration files.
 */

export type LibvirtBinding = typeof Binding;
export type Hypervisor = Binding.Hypervisor;
export type Domain = Binding.Domain;

const specifier = '@unraid/libvirt';

const plainImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<LibvirtBinding>;

function mainLoaderImport(): (s: string) => Promise<LibvirtBinding> {
  return compileFunction('return import(specifier)', ['specifier'], {
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as never,
  }) as (s: string) => Promise<LibvirtBinding>;
}

let loading: Promise<LibvirtBinding> | undefined;

export function loadLibvirt(): Promise<LibvirtBinding> {
  loading ??= plainImport(specifier).catch(() => mainLoaderImport()(specifier));
  return loading;
}
