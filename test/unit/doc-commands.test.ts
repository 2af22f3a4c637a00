import { docCommands, rewriteForTest } from '../helpers/doc-commands';

describe('docCommands', () => {
  const md = [
    'Intro',
    '```sh',
    'npm run up     # starts it',
    'curl -s -XPOST localhost:3000/x -d \'{"a":',
    "  1}'   # 409: taken",
    'curl -s localhost:3000/y \\',
    '  -H "x: #1"   # 201; a second one: 409',
    '# a comment line',
    '',
    '```',
    '```text',
    'npm run thing -- <placeholder>',
    '```',
    '```bash',
    "echo '# not a comment'",
    '```',
  ].join('\n');

  test('reads sh and bash blocks, joins quoted and continued lines, skips text blocks and comments', () => {
    const commands = docCommands('X.md', md);
    expect(commands.map((c) => [c.line, c.expectStatus])).toEqual([
      [3, undefined],
      [4, 409],
      [6, 201],
      [15, undefined],
    ]);
    expect(commands[1].text).toBe('curl -s -XPOST localhost:3000/x -d \'{"a":\n  1}\'   # 409: taken');
    expect(commands[3].text).toBe("echo '# not a comment'");
  });

  test('a quote that never closes is an error naming the line', () => {
    expect(() => docCommands('Y.md', "```sh\necho 'open\n```\n")).toThrow(/Y\.md:2/);
  });
});

describe('rewriteForTest', () => {
  test('maps known local ports and the data folder, and leaves other ports alone', () => {
    const out = rewriteForTest(
      'curl localhost:3000/a 127.0.0.1:9090 localhost:1234 "test+unix:///default?socket=$PWD/.data/libvirt/sock"',
      { ports: { 3000: 13007, 9090: 19090 }, dataDir: '.data/test' },
    );
    expect(out).toBe(
      'curl 127.0.0.1:13007/a 127.0.0.1:19090 localhost:1234 "test+unix:///default?socket=$PWD/.data/test/libvirt/sock"',
    );
  });
});
