import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import { errorMessage } from '../../lib/errors';
import { vmError } from '../../lib/vm/errors';
import type { Template } from '../../lib/vm/validate';

/**
 * A machine's libvirt domain XML, built with an XML builder from its template: every
 * user-given string goes in as text or an attribute value, which the builder escapes,
 * so no field can open an element of its own (validation refuses markup before this).
 */

/** Our own metadata namespace: the reconciler finds a domain's machine by it. */
export const metadataNamespace = 'urn:orchestrator:machine:1';

/**
 * xmlbuilder2 leaves an ampersand alone when it already starts an entity reference
 * ("&lt;", "&#60;", "&x;"), so user text "&lt;" would reach libvirt as "<" and "&x;"
 * as an undefined entity. Escaping every ampersand first makes the builder's output
 * carry the text exactly: its own pass then sees "&amp;" and leaves it be.
 */
const literal = (s: string): string => s.replace(/&/g, '&amp;');

export type DomainType = 'test' | 'kvm' | 'qemu';

export interface DomainSpec {
  name: string;
  uuid: string;
  machineId: string;
  /** `test` on the stack's libvirtd, `kvm` where /dev/kvm works, `qemu` (TCG emulation) otherwise. */
  type: DomainType;
  template: Template;
  description?: string;
  metadata?: Record<string, string>;
  /** Room to grow live: resize of a running machine stays within these. Default: the template's sizes. */
  maxVcpus?: number;
  maxMemoryMiB?: number;
  /** A file the serial console's output is copied to (kept from the last boot only). */
  consoleLog?: string;
}

export function buildDomainXml(spec: DomainSpec): string {
  const t = spec.template;
  const maxMemory = Math.max(spec.maxMemoryMiB ?? t.memoryMiB, t.memoryMiB);
  const maxVcpus = Math.max(spec.maxVcpus ?? t.vcpus, t.vcpus);
  const doc = create({ version: '1.0' });
  const domain = doc.ele('domain', { type: spec.type });
  domain.ele('name').txt(literal(spec.name));
  domain.ele('uuid').txt(spec.uuid);
  if (spec.description) domain.ele('description').txt(literal(spec.description));
  metadata(domain, spec);
  domain.ele('memory', { unit: 'MiB' }).txt(String(maxMemory));
  domain.ele('currentMemory', { unit: 'MiB' }).txt(String(t.memoryMiB));
  domain.ele('vcpu', { placement: 'static', current: String(t.vcpus) }).txt(String(maxVcpus));
  const os = domain.ele('os');
  os.ele('type', { arch: t.os.arch }).txt('hvm');
  if (t.boot) {
    os.ele('kernel').txt(literal(t.boot.kernel));
    if (t.boot.initrd) os.ele('initrd').txt(literal(t.boot.initrd));
    if (t.boot.cmdline) os.ele('cmdline').txt(literal(t.boot.cmdline));
  } else {
    os.ele('boot', { dev: 'hd' });
  }
  // ACPI is what a graceful shutdown or reboot request reaches the guest through.
  if (spec.type !== 'test') domain.ele('features').ele('acpi').up().ele('apic');
  domain.ele('on_poweroff').txt('destroy');
  domain.ele('on_reboot').txt('restart');
  domain.ele('on_crash').txt('destroy');
  devices(domain, spec);
  try {
    // wellFormed: a character XML cannot carry is an error here, never silently dropped.
    return doc.end({ prettyPrint: true, headless: true, wellFormed: true });
  } catch (err) {
    throw vmError(
      'VALIDATION_ERROR',
      `machine ${JSON.stringify(spec.name)} cannot be written as domain XML: ${errorMessage(err)}`,
    );
  }
}

function metadata(domain: XMLBuilder, spec: DomainSpec): void {
  const machine = domain.ele('metadata').ele(metadataNamespace, 'orch:machine');
  machine.ele(metadataNamespace, 'orch:id').txt(literal(spec.machineId));
  for (const [key, value] of Object.entries(spec.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    machine.ele(metadataNamespace, 'orch:entry', { key: literal(key) }).txt(literal(value));
  }
}

function devices(domain: XMLBuilder, spec: DomainSpec): void {
  const t = spec.template;
  const devs = domain.ele('devices');
  if (t.disk) {
    const disk = devs.ele('disk', { type: 'file', device: 'disk' });
    disk.ele('driver', { name: 'qemu', type: t.disk.format });
    disk.ele('source', { file: literal(t.disk.path) });
    disk.ele('target', { dev: 'vda', bus: 'virtio' });
  }
  if (t.network) {
    const nic = devs.ele('interface', { type: 'network' });
    nic.ele('source', { network: literal(t.network) });
    nic.ele('model', { type: 'virtio' });
  }
  if (spec.type !== 'test') {
    // A serial console is how the tiny guest's output is read (virsh console, or a log file).
    const serial = devs.ele('serial', { type: 'pty' });
    if (spec.consoleLog) serial.ele('log', { file: literal(spec.consoleLog), append: 'off' });
    serial.ele('target', { port: '0' });
    devs.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: '0' });
  }
}
