import { describe, expect, it } from 'vitest';
import { renderTemplateText } from '../../src/render/ejs.js';
import { json, nginx, shell } from '../../src/render/escape.js';
import { RenderError } from '../../src/render/failure.js';

describe('json', () => {
  it('keeps an injection attempt inside its string', () => {
    const attack = 'x", "privileged": true, "y": "\\\n';
    const rendered = renderTemplateText({
      source: '{ "name": "APP_NAME", "value": <%= value %> }',
      template: 't.json.ejs',
      locals: { value: attack },
      escape: 'json',
    });
    expect(JSON.parse(rendered)).toEqual({ name: 'APP_NAME', value: attack });
  });

  it('writes arrays and objects as JSON and refuses what JSON would change', () => {
    expect(json({ a: [1, 'b', true] })).toBe('{"a":[1,"b",true]}');
    expect(() => json({ a: { b: Number.POSITIVE_INFINITY } })).toThrow(
      'Infinity (at a.b) has no JSON form',
    );
    expect(() => json(new Date(0))).toThrow('an object has no JSON form');
    expect(() => json(null)).toThrow('null has no JSON form');
  });
});

describe('nginx', () => {
  it('leaves plain tokens bare and writes arrays as separate arguments', () => {
    expect(nginx('php-fpm.prod.example.internal:9000')).toBe('php-fpm.prod.example.internal:9000');
    expect(nginx(['example.com', '*.example.com'])).toBe('example.com *.example.com');
    expect(nginx(8080)).toBe('8080');
  });

  it('quotes spaces, semicolons, braces, quotes and # so they stay one argument', () => {
    expect(nginx('a b')).toBe('"a b"');
    expect(nginx('example.com; include /etc/passwd')).toBe('"example.com; include /etc/passwd"');
    expect(nginx('x} server {')).toBe('"x} server {"');
    expect(nginx('say "hi" \\ # not a comment')).toBe('"say \\"hi\\" \\\\ # not a comment"');
  });

  it('refuses $ and newlines, which no quoting neutralises', () => {
    expect(() => nginx('$host')).toThrow(
      '"$host" contains "$", which no nginx quoting makes literal',
    );
    expect(() => nginx('a\nreturn 302 http://evil')).toThrow('contains "\\n"');
    expect(() => nginx([])).toThrow('an empty array');
    expect(() => nginx({})).toThrow('an object is not an nginx value');
  });

  it('cannot add a directive to a rendered config', () => {
    const render = (value: unknown) =>
      renderTemplateText({
        source: 'server {\n    server_name <%= names %>;\n}\n',
        template: 'config-templates/nginx/default.conf.ejs',
        locals: { names: value },
        escape: 'nginx',
      });
    expect(render(['a.test', 'b.test; location / { return 200; }'])).toBe(
      'server {\n    server_name a.test "b.test; location / { return 200; }";\n}\n',
    );
    let failure: unknown;
    try {
      render(['a.test', 'b.test;\n    include /etc/passwd']);
    } catch (error) {
      failure = error instanceof RenderError ? error.failure : error;
    }
    expect(failure).toMatchObject({
      reason: 'unsafe-value',
      template: 'config-templates/nginx/default.conf.ejs',
      line: 2,
    });
  });
});

describe('shell', () => {
  it('quotes anything that is not plainly one word', () => {
    expect(shell('/ping')).toBe('/ping');
    expect(shell('127.0.0.1:9000')).toBe('127.0.0.1:9000');
    expect(shell("it's; rm -rf /")).toBe("'it'\\''s; rm -rf /'");
    expect(shell('$(id)')).toBe("'$(id)'");
    expect(() => shell(undefined)).toThrow('undefined is not a shell word');
  });
});
