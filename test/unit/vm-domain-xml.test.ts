import { create } from 'xmlbuilder2';
import { AppError } from '../../lib/errors';
import { buildDomainXml, metadataNamespace, type DomainSpec } from '../../activities/vm/domain-xml';

const base: DomainSpec = {
  name: 'web-1',
  uuid: '6f1b2c8e-4a4e-4f7e-9a43-2b6f0b6a1c11',
  machineId: '42',
  type: 'test',
  template: { vcpus: 2, memoryMiB: 512, os: { arch: 'x86_64' } },
};

/** The DOM element as xmlbuilder2 gives it (the project has no DOM typings). */
type El = { getAttribute(name: string): string | null; namespaceURI: string | null };

/** The domain XML parsed back, as libvirt would read it. */
function parse(xml: string) {
  const doc = create(xml);
  const root = doc.root();
  const all = (name: string) => root.filter((n) => n.node.nodeName === name, false, true);
  const text = (name: string) => all(name)[0]?.node.textContent ?? undefined;
  return { root, all, text };
}

describe('buildDomainXml', () => {
  it("copies a QEMU guest's serial console to a log file when asked, and only then", () => {
    const qemu = { ...base, type: 'qemu' as const };
    const logged = parse(buildDomainXml({ ...qemu, consoleLog: '/var/log/guests/web-1.console' }));
    const log = logged.all('log')[0]?.node as unknown as El;
    expect(log.getAttribute('file')).toBe('/var/log/guests/web-1.console');
    expect(log.getAttribute('append')).toBe('off');
    expect(parse(buildDomainXml(qemu)).all('log')).toHaveLength(0);
  });

  it('writes the template sizes, identity and metadata', () => {
    const xml = buildDomainXml({ ...base, maxMemoryMiB: 1024, maxVcpus: 4, metadata: { team: 'ops', tier: 'gold' } });
    const d = parse(xml);
    expect(d.text('name')).toBe('web-1');
    expect(d.text('uuid')).toBe(base.uuid);
    expect(d.text('memory')).toBe('1024');
    expect(d.text('currentMemory')).toBe('512');
    expect(d.text('vcpu')).toBe('4');
    expect((d.all('vcpu')[0].node as unknown as El).getAttribute('current')).toBe('2');
    const entries = d.all('orch:entry').map((n) => [(n.node as unknown as El).getAttribute('key'), n.node.textContent]);
    expect(entries).toEqual([
      ['team', 'ops'],
      ['tier', 'gold'],
    ]);
    expect((d.all('orch:machine')[0].node as unknown as El).namespaceURI).toBe(metadataNamespace);
    expect(d.text('orch:id')).toBe('42');
  });

  it('never lets a maximum fall below the current size', () => {
    const d = parse(buildDomainXml({ ...base, maxMemoryMiB: 128, maxVcpus: 1 }));
    expect(d.text('memory')).toBe('512');
    expect(d.text('vcpu')).toBe('2');
  });

  it('keeps markup in user text as text: no element can be injected', () => {
    const description =
      'x</description><devices><disk type="file"><source file="/etc/shadow"/></disk></devices><description>';
    const value = `"/><orch:id>666</orch:id>&amp;]]>'`;
    const xml = buildDomainXml({ ...base, description, metadata: { note: value } });
    const d = parse(xml);
    expect(d.text('description')).toBe(description);
    expect(d.all('disk')).toHaveLength(0);
    expect(d.all('source')).toHaveLength(0);
    expect(d.all('orch:id').map((n) => n.node.textContent)).toEqual(['42']);
    expect(d.all('orch:entry')[0].node.textContent).toBe(value);
    expect(d.all('description')).toHaveLength(1);
  });

  it('carries entity-like text exactly rather than letting it be read as an entity', () => {
    // Decoded once, as an XML parser does (the builder's own reader decodes twice, so it cannot judge this).
    const decodeOnce = (s: string) =>
      s.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (_, e: string) =>
        e.startsWith('#')
          ? String.fromCharCode(Number(e.slice(1)))
          : { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]!,
      );
    const description = 'R&D &lt;b&gt; &#60; &x; & done';
    const xml = buildDomainXml({ ...base, description, metadata: { k: '&quot;' } });
    const raw = (tag: string) => xml.match(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`))![1];
    expect(decodeOnce(raw('description'))).toBe(description);
    expect(decodeOnce(raw('orch:entry'))).toBe('&quot;');
  });

  it('refuses a character XML cannot carry instead of dropping it', () => {
    expect(() => buildDomainXml({ ...base, description: 'bell\u0007' })).toThrow(AppError);
    try {
      buildDomainXml({ ...base, metadata: { k: 'nul\u0000' } });
      throw new Error('expected a failure');
    } catch (err) {
      expect((err as AppError).type).toBe('ValidationError');
      expect((err as AppError).details?.code).toBe('VALIDATION_ERROR');
    }
  });

  it('boots a kernel directly and adds ACPI and a serial console for a real hypervisor', () => {
    const d = parse(
      buildDomainXml({
        ...base,
        type: 'kvm',
        template: {
          ...base.template,
          boot: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: 'console=ttyS0 quiet' },
        },
      }),
    );
    expect((d.root.node as unknown as El).getAttribute('type')).toBe('kvm');
    expect(d.text('kernel')).toBe('/k/vmlinuz');
    expect(d.text('initrd')).toBe('/k/initrd.img');
    expect(d.text('cmdline')).toBe('console=ttyS0 quiet');
    expect(d.all('acpi')).toHaveLength(1);
    expect(d.all('serial')).toHaveLength(1);
    expect(d.all('boot')).toHaveLength(0);
  });

  it('adds a disk and a network interface when the template has them', () => {
    const d = parse(
      buildDomainXml({
        ...base,
        template: { ...base.template, disk: { path: '/var/lib/vm/web-1.qcow2', format: 'qcow2' }, network: 'default' },
      }),
    );
    expect((d.all('source')[0].node as unknown as El).getAttribute('file')).toBe('/var/lib/vm/web-1.qcow2');
    expect((d.all('source')[1].node as unknown as El).getAttribute('network')).toBe('default');
  });
});
