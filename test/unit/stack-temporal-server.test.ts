import { stackSettings } from '../../scripts/stack/parts';
import { servicePorts } from '../../scripts/stack/temporal-server';
import { temporalServerKind } from '../../scripts/stack/settings';

/** Every port a stack may bind, the real server's service block included. */
function allPorts(env: NodeJS.ProcessEnv, profile: 'local' | 'test') {
  const s = stackSettings(profile, env);
  return [...Object.values(s.ports), ...Object.values(servicePorts(s))];
}

describe("the real Temporal server's ports", () => {
  it('never collide within a stack, nor between test slots, nor with the local stack', () => {
    const owner = new Map<number, string>();
    const claim = (who: string, ports: number[]) => {
      for (const p of ports) {
        expect({ port: p, who: owner.get(p) ?? who }).toEqual({ port: p, who });
        owner.set(p, who);
      }
    };
    claim('local', allPorts({}, 'local'));
    for (let slot = 0; slot <= 9; slot++) claim(`slot ${slot}`, allPorts({ TEST_STACK_SLOT: String(slot) }, 'test'));
  });

  it('follow TEMPORAL_SERVICES_PORT on the local stack', () => {
    const p = servicePorts(stackSettings('local', { TEMPORAL_SERVICES_PORT: '20000' }));
    expect(Math.min(...Object.values(p))).toBe(20000);
    expect(Math.max(...Object.values(p))).toBe(20007);
  });
});

describe('TEMPORAL_SERVER', () => {
  it('is dev unless it names the real server', () => {
    expect(temporalServerKind({})).toBe('dev');
    expect(temporalServerKind({ TEMPORAL_SERVER: 'postgres' })).toBe('postgres');
  });

  it('refuses a kind it does not know, naming the ones it does', () => {
    expect(() => temporalServerKind({ TEMPORAL_SERVER: 'cassandra' })).toThrow(
      'TEMPORAL_SERVER must be one of dev, postgres, got "cassandra"',
    );
  });
});
