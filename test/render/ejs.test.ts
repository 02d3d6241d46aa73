import { describe, expect, it } from 'vitest';
import { renderTemplateText, type EscapeTarget } from '../../src/render/ejs.js';
import { RenderError, type RenderFailure } from '../../src/render/failure.js';

const env = {
  name: 'staging',
  services: { phpFpm: { cpu: 512, ports: [{ port: 9000 }] } },
  optional: { present: 'yes' },
};

function render(
  source: string,
  locals: Record<string, unknown> = { env },
  escape: EscapeTarget = 'json',
) {
  return renderTemplateText({ source, template: 'config-templates/t.json.ejs', locals, escape });
}

function failureOf(source: string, locals?: Record<string, unknown>, escape?: EscapeTarget) {
  try {
    render(source, locals, escape);
  } catch (error) {
    if (error instanceof RenderError) return { failure: error.failure, message: error.message };
    throw error;
  }
  throw new Error('expected the render to fail');
}

describe('strict variables', () => {
  it('renders what the data has', () => {
    expect(render('{"cpu": <%= env.services.phpFpm.cpu %>}')).toBe('{"cpu": 512}');
  });

  it('fails on a misspelt top-level name with template and line', () => {
    const { failure, message } = failureOf('{\n  "cpu": <%= envv.services %>\n}');
    expect(failure).toEqual<RenderFailure>({
      reason: 'missing-variable',
      template: 'config-templates/t.json.ejs',
      line: 2,
      variable: 'envv',
    });
    expect(message).toMatch(/^config-templates\/t\.json\.ejs:2: envv is not defined\./);
  });

  it('fails on a variable the caller did not pass', () => {
    const { failure } = failureOf('{\n\n  "image": <%= phpFpmImage %>\n}');
    expect(failure).toMatchObject({ reason: 'missing-variable', line: 3, variable: 'phpFpmImage' });
  });

  it('fails on a misspelt nested key, naming the whole path', () => {
    const { failure, message } = failureOf(
      '{\n  "a": 1,\n  "cpu": <%= env.services.phpFpm.cpuu %>\n}',
    );
    expect(failure).toMatchObject({
      reason: 'missing-variable',
      line: 3,
      variable: 'env.services.phpFpm.cpuu',
    });
    expect(message).toMatch(
      /^config-templates\/t\.json\.ejs:3: env\.services\.phpFpm\.cpuu is not defined/,
    );
  });

  it('names array elements in the path, also inside callbacks', () => {
    const source =
      '<%_ const ports = env.services.phpFpm.ports.map((p) => p.prot); _%>\n<%= ports %>';
    expect(failureOf(source).failure).toMatchObject({
      line: 1,
      variable: 'env.services.phpFpm.ports[0].prot',
    });
  });

  it('fails on a missing key inside a scriptlet line', () => {
    const source = 'a\nb\n<% if (env.optional.absent) { %>x<% } %>';
    expect(failureOf(source).failure).toMatchObject({ line: 3, variable: 'env.optional.absent' });
  });

  it("lets a template test an optional key with 'in'", () => {
    const source =
      "<% if ('absent' in env.optional) { %>no<% } else { %><%= env.optional.present %><% } %>";
    expect(render(source)).toBe('"yes"');
  });

  it('refuses unescaped output', () => {
    const { failure } = failureOf('x\n<%- env.name %>');
    expect(failure).toMatchObject({ reason: 'template-syntax', line: 2 });
  });

  it('reports a syntax error with the template name', () => {
    const { message } = failureOf('<% if (true) { %>');
    expect(message).toMatch(/^config-templates\/t\.json\.ejs: /);
  });

  it('reports other exceptions with template:line', () => {
    const { failure } = failureOf('\n<% null.x %>', {});
    expect(failure).toMatchObject({ reason: 'template-error', line: 2 });
  });
});

describe('no undefined, NaN or [object Object] in output', () => {
  it('refuses NaN and undefined through the escape, naming the line', () => {
    expect(failureOf('a\n<%= 0 / 0 %>').failure).toMatchObject({
      reason: 'unsafe-value',
      line: 2,
      why: 'NaN has no JSON form',
    });
    expect(failureOf('<%= [1, undefined] %>').failure).toMatchObject({
      why: 'undefined (at [1]) has no JSON form',
    });
    expect(failureOf('a\n\n<%= String({}) %>', { env }, 'nginx').failure).toMatchObject({
      reason: 'unsafe-value',
      line: 3,
      why: '"[object Object]" would write `[object Object]`',
    });
  });

  it('refuses an object where text is expected', () => {
    const { failure } = failureOf('<%= env.services %>', { env }, 'text');
    expect(failure).toMatchObject({ reason: 'unsafe-value', why: 'an object is not text' });
  });

  it('names the template line of literal forbidden text', () => {
    const { failure, message } = failureOf('ok\n"x": undefined');
    expect(failure).toEqual({
      reason: 'forbidden-output',
      template: 'config-templates/t.json.ejs',
      token: 'undefined',
      line: 2,
      in: 'template',
    });
    expect(message).toBe(
      'config-templates/t.json.ejs:2: rendered text contains `undefined`; a value is missing or has the wrong type',
    );
  });

  it('refuses a value that already reads as a forbidden token', () => {
    expect(failureOf('a\n<%= `${env.name}-NaN` %>', { env }, 'text').failure).toMatchObject({
      reason: 'unsafe-value',
      line: 2,
      why: '"staging-NaN" would write `NaN`',
    });
  });
});
